// SPDX-License-Identifier: GPL-2.0-only
// Type-aware lint for irqlab. Kernel names use snake_case, so naming rules stay off.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "out/**", "report/**", "scratch/**", "eslint.config.js", ".dependency-cruiser.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
      "no-restricted-globals": ["error", "setTimeout", "setInterval", "setImmediate", "queueMicrotask"],
      "no-restricted-properties": ["error",
        { object: "Math", property: "random", message: "use the seeded RNG of lib/sim" },
        { object: "Date", property: "now", message: "virtual time only" },
        { object: "performance", property: "now", message: "virtual time only" }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts", "bin/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-expressions": "off",
      "no-restricted-properties": "off",
      "no-restricted-globals": "off",
    },
  },
);
