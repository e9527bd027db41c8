// Lighthouse's text-compression, cache-policy and layout-shift (CLS) audits on signed-in pages
// (README, benchmarks), on its default mobile settings.
// Chromium gets the session cookie in its jar: Lighthouse's --extra-headers do not reach the
// page's sub-resources (thumbnails, polls), which would then be answered by the sign-in page.
//
//   npm install --prefix /tmp/lh lighthouse   # the npm package; Chromium is /usr/bin/chromium
//   cp bench/lighthouse.mjs /tmp/lh/ && node /tmp/lh/lighthouse.mjs http://127.0.0.1:8000 SESSIONID / /gallery/
// (beside its node_modules: an ES module finds its imports there, not through NODE_PATH).
// LH_LANGUAGE=zh-hans sets the language cookie too (the pages in Chinese, its fonts).
import * as chromeLauncher from 'chrome-launcher';
import puppeteer from 'puppeteer-core';
import lighthouse from 'lighthouse';

const [base, sessionid, ...pages] = process.argv.slice(2);
const chrome = await chromeLauncher.launch({
  chromePath: '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const browser = await puppeteer.connect({browserURL: `http://127.0.0.1:${chrome.port}`});
const page = await browser.newPage();
await page.setCookie({name: 'sessionid', value: sessionid, url: base});
if (process.env.LH_LANGUAGE) {
  await page.setCookie({name: 'django_language', value: process.env.LH_LANGUAGE, url: base});
}
const out = {};
for (const path of pages) {
  const result = await lighthouse(base + path, {
    port: chrome.port, output: 'json', logLevel: 'error',
    onlyAudits: [
      'uses-text-compression', 'uses-long-cache-ttl', 'network-requests',
      'cumulative-layout-shift', 'layout-shifts',
    ],
  });
  const lhr = result.lhr;
  out[path] = {
    final: lhr.finalDisplayedUrl, version: lhr.lighthouseVersion, formFactor: lhr.configSettings.formFactor,
    compression: {score: lhr.audits['uses-text-compression'].score, items: lhr.audits['uses-text-compression'].details?.items?.map(i => i.url)},
    cache: {score: lhr.audits['uses-long-cache-ttl'].score, display: lhr.audits['uses-long-cache-ttl'].displayValue, items: lhr.audits['uses-long-cache-ttl'].details?.items?.map(i => [i.url, i.cacheLifetimeMs])},
    requests: lhr.audits['network-requests'].details.items.map(i => [i.url, i.statusCode, i.resourceType]),
    cls: {value: lhr.audits['cumulative-layout-shift'].numericValue, display: lhr.audits['cumulative-layout-shift'].displayValue},
    shifts: lhr.audits['layout-shifts'].details?.items?.map(i => [i.node?.snippet, i.node?.selector, i.score]),
  };
}
console.log(JSON.stringify(out, null, 1));
await browser.disconnect();
await chrome.kill();
