// NetMapAdmin's methods: each a thin call into the same functions the HTTP API uses.
import { z } from "zod";
import {
  GraphFormat,
  type ExportResponse,
  type GraphRequest,
  type GraphResponse,
  type ImportRequest,
  type ImportResponse,
  type AdoptRequest,
  type AdoptResponse,
  type InventoryResponse,
  type ListHostsResponse,
  type RouteRequest,
  type RouteResponse,
  type SshConfigRequest,
  type SshConfigResponse,
  type AckAlertRequest,
  type AckAlertResponse,
  type AddSilenceRequest,
  type AddSilenceResponse,
  type ExpireSilenceRequest,
  type ExpireSilenceResponse,
  type ListAlertsResponse,
  type ListSilencesResponse,
  type WatchAlertsResponse,
  type ApiToken as ApiTokenMessage,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type ListAuditRequest,
  type ListAuditResponse,
  type ListTokensResponse,
  type RecordAgentInstallRequest,
  type RecordAgentInstallResponse,
  type RevokeTokenRequest,
  type RevokeTokenResponse,
  type MintAgentIdentityRequest,
  type MintAgentIdentityResponse,
  type RevokeAgentIdentityRequest,
  type RevokeAgentIdentityResponse,
  type GuestActionRequest,
  type GuestActionResponse,
  type GetTaskRequest,
  type GetTaskResponse,
  type ListSnapshotsRequest,
  type ListSnapshotsResponse,
  type ListBackupsResponse,
  type ContainerTargetRequest,
  type ContainerTargetResponse,
  type RecordContainerActionRequest,
  type RecordContainerActionResponse,
  type SelectHostsRequest,
  type SelectHostsResponse,
  type RecordFleetRunRequest,
  type RecordFleetRunResponse,
  type RecordAgentUpgradeRequest,
  type RecordAgentUpgradeResponse,
} from "../../../proto/gen/netmap/v1/admin.ts";
import { createApiToken, listApiTokens, revokeApiToken, type ApiToken } from "../auth/api-tokens.ts";
import type { Caller } from "../auth/roles.ts";
import { listAudit } from "../audit/trail.ts";
import type { AgentIdentities } from "../nats/agent-identities.ts";
import type { Db } from "../db/database.ts";
import { listHosts } from "../hosts/repository.ts";
import type { StatusThresholds } from "../hosts/status.ts";
import type { TopologyService } from "../topology/service.ts";
import { openAlerts, type OpenAlert } from "../alerts/repository.ts";
import { ackAlert, addSilence, expireSilence, listSilences } from "../alerts/silence-repository.ts";
import { parseRequest } from "../requests.ts";
import type { GuestControl } from "../proxmox/guest-actions.ts";
import { guestBackups } from "../proxmox/repository.ts";
import { containerEngineOf } from "../containers/repository.ts";
import { CONTAINER_ACTIONS, CONTAINER_NAME } from "../containers/control.ts";
import { NotFoundError } from "../errors.ts";
import { selectHosts } from "../fleet/select.ts";
import { isVersion } from "../../../proto/src/release.ts";
import { findHost, qualifiedName, routeFrom } from "../topology/routes.ts";
import { alertToMessage, guestTaskToMessage, hopToMessage, hostToMessage, silenceToMessage } from "./messages.ts";

// The messages' own types hold any string or number; what a method needs beyond that.
const routeRequest = z.object({ host: z.string().min(1, "route: no host given") });
const adoptRequest = z.object({ host: z.string().min(1, "adopt: no host given"), agentId: z.string(), address: z.string() });
const GRAPH_FORMATS = new Map<number, "dot" | "svg">([
  [GraphFormat.GRAPH_FORMAT_UNSPECIFIED, "dot"],
  [GraphFormat.GRAPH_FORMAT_DOT, "dot"],
  [GraphFormat.GRAPH_FORMAT_SVG, "svg"],
]);
const graphRequest = z.object({
  format: z.number().transform((format, ctx) => {
    const name = GRAPH_FORMATS.get(format);
    if (name) return name;
    ctx.addIssue({ code: "custom", message: `graph: unknown format ${format}` });
    return z.NEVER;
  }),
});

/** How often WatchAlerts looks at the open alerts. */
export const WATCH_POLL_MS = 1000;

export interface AdminDeps {
  db: Db;
  thresholds: StatusThresholds;
  topology: TopologyService;
  identities: AgentIdentities;
  guests: GuestControl;
}

/** The methods as plain async functions; server.ts adds the token check and error mapping. */
export interface AdminMethods {
  import(request: ImportRequest): Promise<ImportResponse>;
  export(request: object): Promise<ExportResponse>;
  listHosts(request: object): Promise<ListHostsResponse>;
  route(request: RouteRequest): Promise<RouteResponse>;
  sshConfig(request: SshConfigRequest): Promise<SshConfigResponse>;
  graph(request: GraphRequest): Promise<GraphResponse>;
  inventory(request: object): Promise<InventoryResponse>;
  adopt(request: AdoptRequest): Promise<AdoptResponse>;
  listAlerts(request: object): Promise<ListAlertsResponse>;
  addSilence(request: AddSilenceRequest): Promise<AddSilenceResponse>;
  listSilences(request: object): Promise<ListSilencesResponse>;
  expireSilence(request: ExpireSilenceRequest): Promise<ExpireSilenceResponse>;
  ackAlert(request: AckAlertRequest): Promise<AckAlertResponse>;
  createToken(request: CreateTokenRequest, caller: Caller): Promise<CreateTokenResponse>;
  listTokens(request: object): Promise<ListTokensResponse>;
  revokeToken(request: RevokeTokenRequest): Promise<RevokeTokenResponse>;
  listAudit(request: ListAuditRequest): Promise<ListAuditResponse>;
  /** Nothing but the audit entry server.ts records for it. */
  recordAgentInstall(request: RecordAgentInstallRequest): Promise<RecordAgentInstallResponse>;
  mintAgentIdentity(request: MintAgentIdentityRequest): Promise<MintAgentIdentityResponse>;
  revokeAgentIdentity(request: RevokeAgentIdentityRequest): Promise<RevokeAgentIdentityResponse>;
  guestAction(request: GuestActionRequest, caller: Caller): Promise<GuestActionResponse>;
  getTask(request: GetTaskRequest): Promise<GetTaskResponse>;
  listSnapshots(request: ListSnapshotsRequest): Promise<ListSnapshotsResponse>;
  listBackups(request: object): Promise<ListBackupsResponse>;
  containerTarget(request: ContainerTargetRequest): Promise<ContainerTargetResponse>;
  /** Nothing but the audit entry server.ts records for it. */
  recordContainerAction(request: RecordContainerActionRequest): Promise<RecordContainerActionResponse>;
  selectHosts(request: SelectHostsRequest): Promise<SelectHostsResponse>;
  /** Nothing but the audit entry server.ts records for it. */
  recordFleetRun(request: RecordFleetRunRequest): Promise<RecordFleetRunResponse>;
  /** Nothing but the audit entry server.ts records for it. */
  recordAgentUpgrade(request: RecordAgentUpgradeRequest): Promise<RecordAgentUpgradeResponse>;
}

const tokenToMessage = (t: ApiToken): ApiTokenMessage => ({ ...t, lastUsedAt: t.lastUsedAt ?? undefined });
const agentInstallRequest = z.object({
  host: z.string().min(1, "recordAgentInstall: no host given").max(400),
  outcome: z.enum(["started", "not-started", "failed"], { error: "recordAgentInstall: expected outcome started, not-started or failed" }),
});

/** The server-streaming methods: send each message until the signal aborts. */
export interface AdminStreams {
  watchAlerts(request: object, send: (message: WatchAlertsResponse) => void, signal: AbortSignal): Promise<void>;
}

/** What of an open alert a watcher sees change. */
const alertKey = (a: OpenAlert) => JSON.stringify([a.state, a.value, a.severity, a.ack?.by, a.ack?.at.getTime(), a.ack?.comment, a.annotations]);

export function adminStreams({ db }: Pick<AdminDeps, "db">): AdminStreams {
  return {
    watchAlerts: async (_request, send, signal) => {
      let known = new Map<string, OpenAlert>();
      let first = true;
      while (!signal.aborted) {
        const now = new Date();
        const open = new Map((await openAlerts(db)).map((a) => [a.fingerprint, a]));
        for (const [fp, a] of open) {
          const before = known.get(fp);
          if (first) send({ kind: "open", alert: alertToMessage(a), at: now });
          else if (!before) send({ kind: "new", alert: alertToMessage(a), at: now });
          else if (alertKey(before) !== alertKey(a)) send({ kind: "changed", alert: alertToMessage(a), at: now });
        }
        for (const [fp, a] of known) if (!open.has(fp)) send({ kind: "closed", alert: alertToMessage(a), at: now });
        known = open;
        first = false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, WATCH_POLL_MS);
          signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    },
  };
}

const hostRequest = z.object({ host: z.string().min(1, "no host given").max(400) });
const containerTargetRequest = z.object({
  host: z.string().min(1, "containerTarget: no host given").max(400),
  container: z.string().regex(CONTAINER_NAME, "containerTarget: a container name is letters, digits, '_', '.' and '-', not starting with one of the last three").max(255),
});
const containerActionRequest = z.object({
  container: z.string().min(1, "recordContainerAction: no container given").max(700),
  action: z.enum(CONTAINER_ACTIONS, { error: `recordContainerAction: expected action ${CONTAINER_ACTIONS.join(", ")}` }),
  outcome: z.string().min(1, "recordContainerAction: no outcome given").max(200),
});
const selectRequest = z.object({
  hosts: z.array(z.string().min(1).max(400)).max(10_000),
  client: z.string().max(128),
  site: z.string().max(128),
  labels: z.record(z.string().max(256), z.string().max(1024)),
  all: z.boolean(),
});
const fleetRunRequest = z.object({
  selection: z.string().min(1, "recordFleetRun: no selection given").max(2000),
  command: z.string().min(1, "recordFleetRun: no command given").max(4000),
  outcome: z.string().min(1, "recordFleetRun: no outcome given").max(200),
});
const agentUpgradeRequest = z.object({
  agents: z.string().min(1, "recordAgentUpgrade: no agents given").max(4000),
  version: z.string().refine(isVersion, "recordAgentUpgrade: version is not a release version"),
  outcome: z.string().min(1, "recordAgentUpgrade: no outcome given").max(400),
});

const guestActionRequest = z.object({
  host: z.string().min(1, "guestAction: no host given").max(400),
  action: z.string().max(32),
  snapshot: z.string().max(40).transform((s) => s || undefined),
  description: z.string().max(1000).transform((s) => s || undefined),
  timeoutSeconds: z.number().int().max(86400).transform((s) => s || undefined),
  forceStop: z.boolean().transform((f) => f || undefined),
});

export function adminMethods({ db, thresholds, topology, identities, guests }: AdminDeps): AdminMethods {
  return {
    import: async ({ topologyYaml, fileName }) => topology.importFile(topologyYaml, fileName || "topology file"),
    export: async () => ({ topologyYaml: await topology.exportFile() }),
    listHosts: async () => ({ hosts: (await listHosts(db, thresholds)).map(hostToMessage) }),
    route: async (request) => {
      const { host } = parseRequest(routeRequest, request);
      return { hops: (await topology.route(host)).map(hopToMessage) };
    },
    sshConfig: async ({ knownHostsFile }) => ({ sshConfig: await topology.sshConfig(knownHostsFile || undefined) }),
    graph: async (request) => ({ text: await topology.graph(parseRequest(graphRequest, request).format) }),
    inventory: async () => ({ inventoryJson: `${JSON.stringify(await topology.inventory(), null, 2)}\n` }),
    adopt: async (request) => {
      const { host, agentId, address } = parseRequest(adoptRequest, request);
      const adoption = await topology.adopt(host, { agentId: agentId || undefined, address: address || undefined });
      return { ...adoption, agentId: adoption.agentId ?? undefined, address: adoption.address ?? undefined };
    },
    listAlerts: async () => ({ alerts: (await openAlerts(db)).map(alertToMessage) }),
    addSilence: async ({ matchers, startsAt, endsAt, durationSeconds, createdBy, comment }) => ({
      silence: silenceToMessage(await addSilence(db, { matchers, startsAt: startsAt ?? null, endsAt: endsAt ?? null, durationSeconds, createdBy, comment })),
    }),
    listSilences: async () => ({ silences: (await listSilences(db)).map((s) => silenceToMessage(s)) }),
    expireSilence: async ({ id }) => ({ silence: silenceToMessage(await expireSilence(db, id)) }),
    ackAlert: async ({ fingerprint, by, comment }) => {
      const ack = await ackAlert(db, fingerprint, by, comment);
      return { fingerprint: ack.fingerprint, acknowledged: { by: ack.by, at: ack.at, comment: ack.comment } };
    },
    createToken: async ({ name, role }, caller) => {
      const { token, secret } = await createApiToken(db, name, role, caller.name);
      return { token: tokenToMessage(token), secret };
    },
    listTokens: async () => ({ tokens: (await listApiTokens(db)).map(tokenToMessage) }),
    revokeToken: async ({ name }) => ({ token: tokenToMessage(await revokeApiToken(db, name)) }),
    listAudit: async ({ since, limit }) => ({ events: await listAudit(db, { since, limit }) }),
    recordAgentInstall: async (request) => (parseRequest(agentInstallRequest, request), {}),
    mintAgentIdentity: async (request) => identities.mint(parseRequest(hostRequest, request).host),
    revokeAgentIdentity: async (request) => identities.revoke(parseRequest(hostRequest, request).host),
    guestAction: async (request, caller) => {
      const { host, action, ...options } = parseRequest(guestActionRequest, request);
      const located = await topology.locate(host);
      return { host: located.host, task: guestTaskToMessage(await guests.act(located.id, action, options, caller.name)) };
    },
    getTask: async ({ id }) => ({ task: guestTaskToMessage(await guests.task(id)) }),
    listSnapshots: async (request) => {
      const located = await topology.locate(parseRequest(hostRequest, request).host);
      const snapshots = await guests.snapshots(located.id);
      return {
        host: located.host,
        snapshots: snapshots.map((s) => ({ ...s, takenAt: s.takenAt === null ? undefined : new Date(s.takenAt), parent: s.parent ?? "" })),
      };
    },
    listBackups: async () => ({
      backups: (await guestBackups(db)).map((b) => ({
        host: b.host, cluster: b.cluster, node: b.node, type: b.type, vmid: b.vmid, sizeBytes: b.sizeBytes ?? 0, volid: b.volid ?? "",
        lastBackupAt: b.lastBackupAt === null ? undefined : new Date(b.lastBackupAt), checkedAt: b.checkedAt === null ? undefined : new Date(b.checkedAt),
      })),
    }),
    containerTarget: async (request) => {
      const { host, container } = parseRequest(containerTargetRequest, request);
      const located = findHost(await topology.topology(), host);
      const engine = await containerEngineOf(db, located.host.id!, container);
      if (!engine) throw new NotFoundError(`no container ${JSON.stringify(container)} on ${qualifiedName(located)}: its agent never listed one`);
      return { host: qualifiedName(located), hops: routeFrom(located).map(hopToMessage), engine: engine.engine, socket: engine.socket, state: engine.goneAt ? "gone" : engine.state };
    },
    recordContainerAction: async (request) => (parseRequest(containerActionRequest, request), {}),
    selectHosts: async (request) => ({
      hosts: selectHosts(await topology.topology(), parseRequest(selectRequest, request)).map((h) => ({ ...h, hops: h.hops.map(hopToMessage) })),
    }),
    recordFleetRun: async (request) => (parseRequest(fleetRunRequest, request), {}),
    recordAgentUpgrade: async (request) => (parseRequest(agentUpgradeRequest, request), {}),
  };
}
