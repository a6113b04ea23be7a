/** Differential privacy: exact discrete samplers over a CSPRNG, and their calibration. */
export {
  type ByteSource,
  cryptoBytes,
  uniformBelow,
  bernoulli,
  bernoulliExp,
  toRational,
  type Rational,
} from './random.ts';
export { discreteLaplace, discreteGaussian, isqrt } from './discrete.ts';
export {
  type NoiseSpec,
  noisy,
  gridNoise,
  gridFor,
  gaussianSigma2,
  laplaceEpsilon,
  noiseStddev,
  rhoFor,
  selectionThreshold,
} from './calibrate.ts';
