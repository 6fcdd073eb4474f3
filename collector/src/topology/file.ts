// The topology file (format in DESIGN.md and docs/topology.md): parsed and
// validated whole into a Topology, or written from one. Writing then reading
// gives back the same Topology.
import { parseDocument, stringify } from "yaml";
import { z } from "zod";
import { TopologyError } from "../errors.ts";
import { yamlText } from "../text/escape.ts";
import { HOST_KINDS, type HostKind, type Site, type Topology, type TopologyHost } from "./model.ts";
import { assertValidTopology, problemsError } from "./validate.ts";

const LABEL_KEY = /^[A-Za-z_][A-Za-z0-9_.\/-]{0,62}$/;

interface FileHost {
  name: string;
  slug?: string | undefined;
  address?: string | undefined;
  ssh?: { user?: string | undefined; port?: number | undefined } | undefined;
  via?: string | undefined;
  kind?: HostKind | undefined;
  agent_id?: string | undefined;
  labels?: Record<string, string> | undefined;
  guests?: FileHost[] | undefined;
}

const hostSchema: z.ZodType<FileHost> = z.lazy(() =>
  z
    .object({
      name: z.string(),
      slug: z.string().optional(),
      address: z.string().optional(),
      ssh: z.object({ user: z.string().optional(), port: z.number().int().optional() }).strict().optional(),
      via: z.string().optional(),
      kind: z.enum(HOST_KINDS).optional(),
      // The agent whose reports are this host's: it attaches on its first report (or now, if it reported already).
      agent_id: z.string().optional(),
      labels: z
        .record(z.string().regex(LABEL_KEY, "a label key is letters, digits, _ . / -"), z.union([z.string(), z.number(), z.boolean()]).transform(String))
        .optional(),
      guests: z.array(hostSchema).optional(),
    })
    .strict(),
);

const fileSchema = z
  .object({
    clients: z.array(
      z
        .object({
          name: z.string(),
          slug: z.string().optional(),
          sites: z.array(
            z.object({ name: z.string(), slug: z.string().optional(), bastion: z.string().optional(), hosts: z.array(hostSchema).default([]) }).strict(),
          ).default([]),
        })
        .strict(),
    ),
  })
  .strict();

type TopologyFile = z.output<typeof fileSchema>;

const DEFAULT_KIND = { host: "server", guest: "vm" } as const;

/** Parses and validates a whole topology file; throws TopologyError naming the host at fault. */
export function parseTopologyFile(text: string, fileName = "topology file"): Topology {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length) throw problemsError(`${fileName}: not valid YAML`, document.errors.map((e) => e.message.split("\n")[0]!));
  let raw: unknown;
  try {
    // toJS resolves aliases, and throws (a ReferenceError) for one without its anchor or one that expands too far.
    raw = document.toJS();
  } catch (error) {
    throw new TopologyError(`${fileName}: not valid YAML: ${(error as Error).message}`);
  }
  // Said plainly, rather than as what the schema makes of it (or an empty import that succeeds).
  if (raw === null || raw === undefined) throw new TopologyError(`${fileName} is empty: a topology file starts with "clients:" (docs/topology.md)`);
  if (typeof raw !== "object" || Array.isArray(raw) || !("clients" in raw)) {
    throw new TopologyError(`${fileName} is not a topology file: it has no "clients:" at the top (docs/topology.md)`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw problemsError(fileName, parsed.error.issues.map((issue) => `${describePath(raw, issue.path)}: ${issueMessage(issue)}`));
  const topology = fromFile(parsed.data);
  assertValidTopology(topology, fileName);
  return topology;
}

function fromFile(file: TopologyFile): Topology {
  return {
    clients: file.clients.map((client) => ({
      name: client.name,
      ...given(client.slug),
      sites: client.sites.map((site) => {
        const hosts: TopologyHost[] = [];
        const add = (host: FileHost, parent: string | null) => {
          hosts.push({
            name: host.name,
            ...given(host.slug),
            kind: host.kind ?? (parent ? DEFAULT_KIND.guest : DEFAULT_KIND.host),
            address: host.address ?? null,
            ssh: { user: host.ssh?.user ?? null, port: host.ssh?.port ?? 22 },
            via: host.via ?? null,
            parent,
            labels: host.labels ?? {},
            source: "person",
            ...(host.agent_id !== undefined ? { agentId: host.agent_id } : {}),
          });
          for (const guest of host.guests ?? []) add(guest, host.name);
        };
        for (const host of site.hosts) add(host, null);
        return { name: site.name, ...given(site.slug), bastion: site.bastion ?? null, hosts };
      }),
    })),
  };
}

/** A slug a person gave is kept, and written back; a derived one is neither. */
function given(slug: string | null | undefined): { slug?: string } {
  return slug == null ? {} : { slug };
}

/** The topology as a file; guests nested under their hypervisor, defaults left out. */
export function formatTopologyFile(topology: Topology): string {
  const file = {
    clients: topology.clients.map((client) => ({
      name: client.name,
      ...given(client.slug),
      sites: client.sites.map((site) => ({
        name: site.name,
        ...given(site.slug),
        ...(site.bastion ? { bastion: site.bastion } : {}),
        hosts: site.hosts.filter((h) => h.parent === null || !site.hosts.some((p) => p.name === h.parent)).map((h) => toFileHost(site, h)),
      })),
    })),
  };
  return yamlText(stringify(file, { lineWidth: 0 }));
}

function toFileHost(site: Site, host: TopologyHost): FileHost {
  const guests = site.hosts.filter((g) => g.parent === host.name && g.name !== host.name);
  const defaultKind = host.parent ? DEFAULT_KIND.guest : DEFAULT_KIND.host;
  const ssh = { ...(host.ssh.user !== null ? { user: host.ssh.user } : {}), ...(host.ssh.port !== 22 ? { port: host.ssh.port } : {}) };
  return {
    name: host.name,
    ...given(host.slug),
    ...(host.address !== null ? { address: host.address } : {}),
    ...(Object.keys(ssh).length ? { ssh } : {}),
    ...(host.via !== null ? { via: host.via } : {}),
    ...(host.kind !== defaultKind ? { kind: host.kind } : {}),
    ...(host.agentId ? { agent_id: host.agentId } : {}),
    ...(Object.keys(host.labels).length ? { labels: host.labels } : {}),
    ...(guests.length ? { guests: guests.map((g) => toFileHost(site, g)) } : {}),
  };
}

/** "acme/paris-dc1/web01: address" rather than "clients.0.sites.0.hosts.3.address". */
function describePath(raw: unknown, path: PropertyKey[]): string {
  const names: string[] = [];
  let rest: string[] = [];
  let node: unknown = raw;
  for (const key of path) {
    node = node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    const name = node !== null && typeof node === "object" ? (node as { name?: unknown }).name : undefined;
    if (typeof key === "number" && typeof name === "string") {
      names.push(name);
      rest = [];
    } else {
      rest.push(typeof key === "number" ? `[${key}]` : String(key));
    }
  }
  const where = names.length ? names.join("/") : "top level";
  return rest.length ? `${where}: ${rest.join(".").replace(/\.\[/g, "[")}` : where;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  return issue.message;
}
