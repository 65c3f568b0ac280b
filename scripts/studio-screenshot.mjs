// Makes docs/studio.png: the studio's Sample view in headless Chromium (WebGPU on whatever adapter it finds),
// after the shipped generator's grid and the latent walk are drawn. The page draws every image with
// putImageData on 2D canvases from pixels read back from the GPU, so the capture is the page's own pixels.
// Usage: npm run -s build && npx tsc -p studio && node scripts/studio-screenshot.mjs [out.png]
import { chromium } from 'playwright-core';
import { startStudio } from '../dist/src/cli/studio.js';

const out = process.argv[2] ?? 'docs/studio.png';
const { server, url } = await startStudio({ port: 0, runs: 'runs', data: '/usr/share/datasets/fashion-mnist', root: process.cwd() });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 910 } });
  await page.goto(url);
  await page.waitForFunction('window.studio && window.studio.ready', undefined, { timeout: 120_000 });
  await page.evaluate('window.studio.ready');
  await page.fill('#w-a', '0');
  await page.fill('#w-b', '9');
  await page.dispatchEvent('#w-b', 'change');
  await page.fill('#w-t', '0.4');
  await page.dispatchEvent('#w-t', 'input');
  await page.waitForFunction(`document.getElementById('w-status').textContent.startsWith('slerp')`, undefined, { timeout: 120_000 });
  await page.waitForTimeout(3000);
  await page.screenshot({ path: out });
  console.log(`${out} written (first image ${(await page.evaluate('window.studio.timings.firstImage')).toFixed(0)} ms after navigation)`);
} finally {
  await browser.close();
  server.close();
}
