// Lint rules: typescript-eslint's type-checked set; floating promises are errors (CONVENTIONS.md);
// and the layers of src/, which point one way (README "Architecture", issue #16).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layers of src/, top to bottom, and the layers each may import (besides itself). cli may
 * import anything. A lower layer importing a higher one is an error, so is a sideways import
 * (engine -> controlplane, report -> fleet): shared code moves down instead.
 */
const LAYERS = {
  cli: null,
  report: ["client", "host", "kernel"],
  workers: ["fleet", "controlplane", "engine", "client", "host", "kernel"],
  fleet: ["controlplane", "engine", "client", "host", "kernel"],
  controlplane: ["client", "host", "kernel"],
  engine: ["client", "host", "kernel"],
  client: ["kernel"],
  host: ["kernel"],
  kernel: [],
};

/** Layers whose non-test code takes time from the injected Clock (src/kernel/clock.ts). */
const CLOCKED = ["engine", "client"];
const CLOCK_MESSAGE = "take the Clock (src/kernel/clock.ts): tests step time instead of sleeping";

/**
 * Down to this many folders below src/<layer>/, a file's rule knows how many `../` climb to src/
 * (so a sub-folder that happens to share a layer's name is not mistaken for it); deeper files get
 * a rule that takes any number.
 */
const MAX_DEPTH = 4;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `no-restricted-imports` for a file of `layer` at `depth` folders below src/<layer>/. */
function layerImports(layer, depth, clocked) {
  const allowed = LAYERS[layer];
  const up = depth > MAX_DEPTH ? "(\\./)?(\\.\\./)+" : `(\\./)?${escape("../".repeat(depth + 1))}`;
  const patterns = Object.keys(LAYERS)
    .filter((other) => other !== layer && !allowed.includes(other))
    .map((other) => ({
      regex: `^${up}${other}(/|$)`,
      caseSensitive: true,
      message: `${layer} must not import ${other}: ${layer} may import only ${allowed.length ? allowed.join(", ") : "itself"} (layers point one way; move shared code down a layer)`,
    }));
  const paths = clocked
    ? [
        { name: "node:timers", importNames: ["setTimeout", "setInterval"], message: CLOCK_MESSAGE },
        { name: "timers", importNames: ["setTimeout", "setInterval"], message: CLOCK_MESSAGE },
        { name: "node:timers/promises", message: CLOCK_MESSAGE },
        { name: "timers/promises", message: CLOCK_MESSAGE },
      ]
    : [];
  return ["error", { paths, patterns }];
}

/** Config blocks that enforce the layer table (and the Clock in engine and client). */
function layerBlocks() {
  const blocks = [];
  for (const layer of Object.keys(LAYERS)) {
    if (LAYERS[layer] === null) continue;
    const clocked = CLOCKED.includes(layer);
    for (let depth = 0; depth <= MAX_DEPTH + 1; depth++) {
      const files = [`src/${layer}/${"*/".repeat(depth)}${depth > MAX_DEPTH ? "**/" : ""}*.ts`];
      blocks.push({ files, rules: { "no-restricted-imports": layerImports(layer, depth, false) } });
      if (clocked) {
        blocks.push({
          files,
          ignores: ["**/*.test.ts", "**/testdata/**"],
          rules: { "no-restricted-imports": layerImports(layer, depth, true) },
        });
      }
    }
  }
  blocks.push({
    files: CLOCKED.map((layer) => `src/${layer}/**/*.ts`),
    ignores: ["**/*.test.ts", "**/testdata/**"],
    rules: {
      "no-restricted-globals": [
        "error",
        { name: "setTimeout", message: `setTimeout: ${CLOCK_MESSAGE}` },
        { name: "setInterval", message: `setInterval: ${CLOCK_MESSAGE}` },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: `Date.now(): ${CLOCK_MESSAGE}` },
        { object: "globalThis", property: "setTimeout", message: `setTimeout: ${CLOCK_MESSAGE}` },
        { object: "globalThis", property: "setInterval", message: `setInterval: ${CLOCK_MESSAGE}` },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: `new Date() without an argument: ${CLOCK_MESSAGE} (new Date(clock.now()))`,
        },
        {
          selector: "CallExpression[callee.name='Date'][arguments.length=0]",
          message: `Date() without an argument: ${CLOCK_MESSAGE}`,
        },
      ],
    },
  });
  return blocks;
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".cache/", "results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.test.ts"],
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] },
          ],
        },
      ],
    },
  },
  ...layerBlocks(),
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", console: "readonly" },
    },
  },
);
