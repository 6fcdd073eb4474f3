// esbuild bundles imported style sheets into app.css; to TypeScript they are modules without exports.
declare module "*.css";
