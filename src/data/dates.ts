/**
 * Calendar arithmetic for the `date` (days since 1970-01-01) and `timestamp` (microseconds
 * since 1970-01-01T00:00:00, no zone) column types: ISO 8601 parsing straight from UTF-8
 * bytes, and formatting for results. Proleptic Gregorian calendar; the day-count
 * conversions follow Howard Hinnant's `days_from_civil` / `civil_from_days` algorithms.
 */

/** Microseconds in a day. */
export const MICROS_PER_DAY = 86_400_000_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01. */
export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** `n` ASCII digits at `buf[at]` as a number, or -1 when any is not a digit. */
function digits(buf: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = (buf[i] as number) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Days of `YYYY-MM-DD` at `buf[s, s + 10)`, or NaN when it is not a valid date. */
function parseDatePart(buf: Uint8Array, s: number): number {
  if (buf[s + 4] !== 45 || buf[s + 7] !== 45) return Number.NaN;
  const y = digits(buf, s, 4);
  const m = digits(buf, s + 5, 2);
  const d = digits(buf, s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return Number.NaN;
  return daysFromCivil(y, m, d);
}

/** Days since epoch of an ISO date `YYYY-MM-DD` in `buf[s, e)`, or NaN when it is not one. */
export function parseDateBytes(buf: Uint8Array, s: number, e: number): number {
  return e - s === 10 ? parseDatePart(buf, s) : Number.NaN;
}

/**
 * Microseconds since epoch of an ISO timestamp in `buf[s, e)`:
 * `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH[:]MM]`, zones converted to UTC, fractions
 * past microseconds truncated. Returns NaN when it is not one. Values beyond ±2^53 µs
 * (before 1685 or after 2255) are returned as bigint so no precision is lost.
 */
export function parseTimestampBytes(buf: Uint8Array, s: number, e: number): number | bigint {
  if (e - s < 16) return Number.NaN;
  const days = parseDatePart(buf, s);
  const sep = buf[s + 10];
  if (Number.isNaN(days) || (sep !== 84 && sep !== 32 && sep !== 116)) return Number.NaN;
  const hh = digits(buf, s + 11, 2);
  const mm = buf[s + 13] === 58 ? digits(buf, s + 14, 2) : -1;
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return Number.NaN;
  let p = s + 16;
  let ss = 0;
  let frac = 0;
  if (p < e && buf[p] === 58) {
    ss = digits(buf, p + 1, 2);
    if (p + 3 > e || ss < 0 || ss > 59) return Number.NaN;
    p += 3;
    if (p < e && buf[p] === 46) {
      p++;
      let n = 0;
      while (p < e && (buf[p] as number) >= 48 && (buf[p] as number) <= 57) {
        if (n < 6) frac = frac * 10 + ((buf[p] as number) - 48);
        n++;
        p++;
      }
      if (n === 0) return Number.NaN;
      for (let k = Math.min(n, 6); k < 6; k++) frac *= 10;
    }
  }
  let offsetMinutes = 0;
  if (p < e) {
    const z = buf[p];
    if ((z === 90 || z === 122) && p + 1 === e) {
      p++;
    } else if (z === 43 || z === 45) {
      const oh = digits(buf, p + 1, 2);
      const colon = buf[p + 3] === 58 ? 1 : 0;
      const om = digits(buf, p + 3 + colon, 2);
      if (oh < 0 || oh > 23 || om < 0 || om > 59 || p + 5 + colon !== e) return Number.NaN;
      offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
      p = e;
    } else {
      return Number.NaN;
    }
  }
  if (p !== e) return Number.NaN;
  const micros = ((hh * 60 + mm - offsetMinutes) * 60 + ss) * 1_000_000 + frac;
  const total = days * MICROS_PER_DAY + micros;
  return Number.isSafeInteger(total) ? total : BigInt(days) * BigInt(MICROS_PER_DAY) + BigInt(micros);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** `YYYY-MM-DD` of a day count since 1970-01-01 (years outside 0–9999 get a sign). */
export function formatDate(days: number): string {
  const { y, m, d } = civilFromDays(days);
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
  return `${year}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]` of microseconds since 1970-01-01T00:00:00. */
export function formatTimestamp(micros: bigint): string {
  const perDay = BigInt(MICROS_PER_DAY);
  let days = micros / perDay;
  let rest = micros % perDay;
  if (rest < 0n) {
    rest += perDay;
    days -= 1n;
  }
  const r = Number(rest);
  const secs = Math.floor(r / 1_000_000);
  const frac = r % 1_000_000;
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`;
  return `${formatDate(Number(days))}T${time}${frac ? `.${pad(frac, 6)}` : ''}`;
}
