/**
 * A worker of another node as a member of a federated job: the coordinator talks to it as
 * to one of its own enclaves, and each request goes to that node's host as a signed
 * node-to-node request (`POST /v1/federation/relay`, answered only for a node the chain
 * vouches for). The other node's host fills in its own dataset (blob, manifest, approval,
 * policy update) and hands the request to its own enclave, which checks the job against
 * its datasets' policies and the coordinating enclave's attestation itself: this host
 * carries only sealed, signed federation messages. A node that does not answer within the
 * request's deadline, or at all, fails the job naming the node and the reason.
 */
import type { ObscuraClient } from '../../client/client.ts';
import { ObscuraError, errorMessage, type HttpStatus } from '../../common/errors.ts';
import {
  type EnclaveInfo,
  type HostRequest,
  type HostRequestType,
  type ResponseValue,
  ResponseValueSchemas,
} from '../../contracts/enclave-protocol.ts';
import type { NodeRecord, NodeWorker } from '../../contracts/node-record.ts';
import type { Peer } from '../../federation/channel.ts';
import { freshNonce } from './registry.ts';

/** The requests a node relays to its enclave for another node's federated job. */
export const RELAYED_REQUESTS = [
  'attest',
  'fed_open',
  'fed_round',
  'fed_evaluate',
  'fed_close',
  'cancel_job',
  'fed_partial_check',
  'fed_partial',
] as const;
/** One of the relayed requests. */
export type RelayedRequest = (typeof RELAYED_REQUESTS)[number];

type RequestBody<T extends HostRequestType> = Omit<Extract<HostRequest, { type: T }>, 'id' | 'type'>;

/** What the coordinator needs of a member of a federated job: a local EnclaveClient is one, RemoteMember another. */
export interface FederationMember {
  readonly info: Pick<EnclaveInfo, 'workerId' | 'keys' | 'limits'>;
  readonly running: boolean;
  request<T extends HostRequestType>(
    type: T,
    body: RequestBody<T>,
    onProgress?: (fraction: number, message: string) => void,
    opts?: { deadlineMs?: number },
  ): Promise<ResponseValue<T>>;
}

/**
 * A member as a peer of the federation's channels: its keys and fresh evidence of them,
 * attested against a nonce drawn here (so old evidence cannot be replayed).
 */
export async function attestedPeer(member: FederationMember, opts?: { deadlineMs?: number }): Promise<Peer> {
  const nonce = freshNonce();
  const { evidence } = await member.request('attest', { nonce }, undefined, opts);
  return { workerId: member.info.workerId, keys: member.info.keys, evidence, nonce };
}

/** Longest a relayed request without its own deadline may take (the other node's enclave bounds its work too). */
export const RELAY_DEFAULT_MS = 15 * 60_000;

/** A worker of another node, reached through that node's host. */
export class RemoteMember implements FederationMember {
  readonly info: Pick<EnclaveInfo, 'workerId' | 'keys' | 'limits'>;
  #failed = false;

  constructor(
    private readonly client: ObscuraClient,
    readonly node: NodeRecord,
    private readonly worker: NodeWorker,
  ) {
    // The label names the node: two nodes may each have a worker-1.
    this.info = {
      workerId: `${worker.id}@${node.url}`,
      keys: { recipient: worker.recipient, signingKey: worker.signingKey },
    };
  }

  /** False once the node failed to answer: the coordinator does not ask it to close. */
  get running(): boolean {
    return !this.#failed;
  }

  request<T extends HostRequestType>(
    type: T,
    body: RequestBody<T>,
    _onProgress?: (fraction: number, message: string) => void,
    opts: { deadlineMs?: number } = {},
  ): Promise<ResponseValue<T>> {
    if (!(RELAYED_REQUESTS as readonly string[]).includes(type))
      return Promise.reject(
        new ObscuraError(
          'federation_invalid',
          `a node's worker is never asked ${type} (it does not aggregate)`,
          500,
        ),
      );
    let sent: unknown = body;
    if (type === 'fed_open' || type === 'fed_partial_check' || type === 'fed_partial') {
      // Only the dataset's id and input name travel: the node holding it supplies the rest.
      const open = body as unknown as RequestBody<'fed_open'>;
      sent = {
        ...open,
        job: { ...open.job, inputs: open.job.inputs.map((i) => ({ name: i.name, datasetId: i.datasetId })) },
      };
    }
    const ms = opts.deadlineMs ?? RELAY_DEFAULT_MS;
    const url = this.node.url;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ObscuraError(
              'federation_node_timeout',
              `node ${url} did not answer ${type} within ${Math.round(ms / 1000)} s`,
              503,
              { node: url },
            ),
          ),
        ms,
      );
    });
    const call = this.client
      .post('/v1/federation/relay', { worker: this.worker.id, type, body: sent })
      .catch((e: unknown) => {
        if (e instanceof ObscuraError && e.code === 'api_unreachable')
          throw new ObscuraError('federation_node_unreachable', `node ${url} cannot be reached`, 503, {
            node: url,
          });
        if (e instanceof ObscuraError)
          throw new ObscuraError(e.code, `node ${url}: ${e.message}`, e.status as HttpStatus, { node: url });
        throw new ObscuraError('federation_node_failed', `node ${url}: ${errorMessage(e)}`, 502, {
          node: url,
        });
      });
    return Promise.race([call, late])
      .then((v) => {
        // The other node's host is untrusted: its answer is checked as an enclave's would be.
        const parsed = ResponseValueSchemas[type].safeParse(v);
        if (!parsed.success)
          throw new ObscuraError(
            'federation_node_failed',
            `node ${url} answered ${type} with something else`,
            502,
            {
              node: url,
            },
          );
        return parsed.data as ResponseValue<T>;
      })
      .catch((e: unknown) => {
        if (
          e instanceof ObscuraError &&
          ['federation_node_timeout', 'federation_node_unreachable'].includes(e.code)
        )
          this.#failed = true;
        throw e;
      })
      .finally(() => clearTimeout(timer));
  }
}
