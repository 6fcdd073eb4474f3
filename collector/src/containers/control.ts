// What `netmap container ACTION HOST/NAME` runs on the container's host, over SSH through the
// host's chain (topology/ssh.ts): the engine's own CLI, docker or podman, pointed at the
// socket the host's agent read. Pure. Every word that comes from NetMap (the container name,
// the socket) goes through shellWord: ssh hands the remote shell one line, and each of
// those values is one literal word in it.
import { ExternalCommandError } from "../errors.ts";
import { shellWord } from "../text/escape.ts";

export const CONTAINER_ACTIONS = ["start", "stop", "restart", "logs"] as const;
export type ContainerAction = (typeof CONTAINER_ACTIONS)[number];

/** A container name as Docker and Podman accept one. */
export const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** An Engine API socket path an agent reported, as this command line takes it. */
const SOCKET_PATH = /^\/[A-Za-z0-9._\/-]+$/;

export interface EngineTarget {
  /** "docker" or "podman" ("" when the agent did not say: docker). */
  engine: string;
  /** The Engine API socket; "" for the CLI's default. */
  socket: string;
  name: string;
}

export interface LogOptions {
  follow: boolean;
  /** The last N lines; all when undefined. */
  lines?: number;
}

/** The remote command, as ssh's command arguments (each already one word for the remote shell). */
export function engineCommand(action: ContainerAction, target: EngineTarget, logs: LogOptions = { follow: false }): string[] {
  if (!CONTAINER_NAME.test(target.name)) throw new ExternalCommandError(`${JSON.stringify(target.name)} is not a container name`);
  const podman = target.engine === "podman";
  if (target.engine !== "" && target.engine !== "docker" && !podman) throw new ExternalCommandError(`unknown container engine ${JSON.stringify(target.engine)}`);
  if (target.socket !== "" && !SOCKET_PATH.test(target.socket)) throw new ExternalCommandError(`the engine socket ${JSON.stringify(target.socket)} is not a plain absolute path`);
  const words = [podman ? "podman" : "docker"];
  if (target.socket !== "") words.push(podman ? "--url" : "--host", `unix://${target.socket}`);
  words.push(action);
  if (action === "logs") {
    if (logs.lines !== undefined) words.push("--tail", String(logs.lines));
    if (logs.follow) words.push("--follow");
  }
  words.push("--", target.name);
  return words.map(shellWord);
}
