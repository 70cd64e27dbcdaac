// @ts-check
// ESLint (flat config): eslint's and typescript-eslint's recommended rules, import cycles as
// errors (import-x with the TypeScript resolver, offline), and what the house rules ask
// (no unexplained `any`, no unused code). Formatting is Prettier's: eslint-config-prettier
// turns off the rules it would fight. Not type-aware: it stays fast on a 2-core machine.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.wrangler/',
      '.vite-cache/',
      'worker-configuration.d.ts',
      'bench/results/',
      'bench/.cache/',
      'test/e2e/artifacts/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      // As import-x's flatConfigs.typescript, with the resolver below: without these, import-x
      // does not follow .ts files and sees no cycle among them.
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['tsconfig.json', 'tsconfig.node.json', 'tsconfig.console.json', 'examples/hono-app/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The worker and its tests run in workerd (service-worker globals); the Node side (e2e tests,
    // vitest config, scripts, CLI, bench, examples' helpers) in Node.
    files: ['src/**', 'test/**', 'examples/*/src/**'],
    languageOptions: { globals: globals.serviceworker },
  },
  {
    files: [
      'test/e2e/**',
      'test/global-setup.ts',
      'vitest.config.mts',
      '*.mjs',
      'scripts/**',
      'cli/**',
      'bin/**',
      'bench/**',
      'examples/lib/**',
    ],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['public/**'],
    languageOptions: { globals: globals.browser },
  },
  prettier,
);
