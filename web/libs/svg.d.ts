// cmd/build loads .svg imports as text (esbuild's text loader).
declare module "*.svg" {
  const svg: string;
  export default svg;
}
