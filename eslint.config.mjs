// Lint for the whole repository: typescript-eslint's recommended rules, formatting left to Prettier.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", "dist/", ".pulumi-local/", ".emulator/", "coverage/", ".offline-build/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      // Parameters and locals named with a leading underscore are unused on purpose (provider signatures).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Errors are rewritten on purpose: an original error (axios's, for one) can hold a header or a
      // token, which must never reach a log through `cause`.
      "preserve-caught-error": "off",
    },
  },
  {
    // Tests read Pulumi mocks' untyped properties and load plugins the way Pulumi does.
    files: ["tests/**/*.ts", "emulator/testkit.ts", "offline-plugins/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { module: "writable", require: "readonly", __dirname: "readonly", process: "readonly", console: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
