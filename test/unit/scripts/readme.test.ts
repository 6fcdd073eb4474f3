import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const root = new URL("../../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");

test("the README indexes every document in docs/ and links nothing outside the repository", () => {
  const index = readme.slice(readme.indexOf("## Documentation"));
  for (const doc of readdirSync(new URL("docs/", root)).filter((f) => f.endsWith(".md"))) {
    assert.ok(index.includes(`](docs/${doc})`), `docs/${doc} is missing from the README's index`);
  }
  for (const [, target] of readme.matchAll(/\]\(([^)]+)\)/g)) {
    assert.ok(!/^([a-z]+:|\/|\.\.)/.test(target!), `${target} leaves the repository`);
    if (!target!.startsWith("#")) readFileSync(new URL(target!, root));
  }
  assert.doesNotMatch(readme, /\.\.\/shared|\.\.\//, "no path above the checkout");
});
