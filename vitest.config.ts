import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { cdnFiles } from './scripts/cdn/vite-plugin.mjs';
import { blockNetwork, blockedRequests, pageOrigin } from './test/browser/commands.js';

// Node tests (kernels, engine, CLI) and real-browser tests (Chromium, no WebGL needed).
// CHROMIUM_PATH overrides where Debian's chromium lives.
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
// The components' tests: Lit and @lit/task pre-bundled up front (a late discovery would reload
// the page mid-test), a desktop-sized viewport, and commands that block the network.
const componentBrowser = {
  headless: true,
  viewport: { width: 1280, height: 1000 },
  screenshotDirectory: 'test-results/screenshots',
  commands: { blockNetwork, blockedRequests, pageOrigin },
};
const optimizeDeps = {
  include: ['lit', 'lit/decorators.js', 'lit/directive.js', 'lit/directives/repeat.js', '@lit/task'],
};
const noWebgl = 'test/browser/components-no-webgl.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          exclude: [noWebgl],
          setupFiles: ['test/browser/fixtures/block-network-setup.ts'],
          testTimeout: 120_000,
          // One file at a time: test iframes share the page's main thread (long-task measures)
          // and each worker holds a model of up to 250 MB.
          fileParallelism: false,
          browser: {
            enabled: true,
            ...componentBrowser,
            provider: playwright({ launchOptions: { executablePath: chromium, args: chromiumArgs } }),
            instances: [{ browser: 'chromium' }],
          },
        },
        optimizeDeps,
        // dist/ as built, under /zf-cdn/, for test/browser/cdn.test.ts.
        plugins: [cdnFiles()],
      },
      {
        // The whole component flow in a Chromium that has no WebGL at all.
        test: {
          name: 'browser-no-webgl',
          include: [noWebgl],
          testTimeout: 120_000,
          browser: {
            enabled: true,
            ...componentBrowser,
            provider: playwright({
              launchOptions: { executablePath: chromium, args: [...chromiumArgs, '--disable-webgl', '--disable-webgl2'] },
            }),
            instances: [{ browser: 'chromium', name: 'browser-no-webgl (chromium)' }],
          },
        },
        optimizeDeps,
      },
    ],
  },
});
