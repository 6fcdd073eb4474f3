// Entry of the single-executable build: the bundle is CommonJS, where
// import.meta.main does not exist, so the binary calls the CLI explicitly.
import { runCli } from "./main.ts";

runCli(process.argv.slice(2));
