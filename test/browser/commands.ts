// Server-side commands for the browser tests (run in Node, beside Playwright): block every
// request that leaves the test page's own origin, and report what was blocked.
import type { BrowserCommand } from 'vitest/node';
import type {} from '@vitest/browser-playwright'; // ctx.page and ctx.context

const blocked: string[] = [];
const routed = new WeakSet<object>();

/** Let only the page's own origin through (pages, iframes and workers of the context). */
export const blockNetwork: BrowserCommand<[]> = async (ctx) => {
  const context = ctx.context;
  if (routed.has(context)) return;
  routed.add(context);
  const origin = new URL(ctx.page.url()).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let allowed = false;
    try {
      const u = new URL(url);
      allowed = u.origin === origin || u.protocol === 'data:' || u.protocol === 'blob:';
    } catch { /* not a URL: block */ }
    if (allowed) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
};

/** The requests blocked since the last call (and forget them). */
export const blockedRequests: BrowserCommand<[]> = async () => blocked.splice(0);

/** The page's origin as the browser side sees the test server. */
export const pageOrigin: BrowserCommand<[]> = async (ctx) => new URL(ctx.page.url()).origin;
