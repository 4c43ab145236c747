/**
 * Opens a page in Debian's Chromium, headless, driven by playwright-core (no browser download:
 * the system's binary is used). For tests that check what a user would see in a browser.
 */
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

/** The system Chromium, or an error saying how to install it. */
export function chromiumPath(): string {
  for (const p of [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && existsSync(p)) return p;
  }
  throw new Error(
    "no Chromium: install it with 'apt-get update && apt-get install -y chromium' (.ci/run does)",
  );
}

/** What a page showed. */
export interface PageCheck {
  readonly title: string;
  /** Console errors and uncaught page errors. */
  readonly errors: readonly string[];
  /** Elements matched by the selector that are visible, with their id and rendered size. */
  readonly visible: ReadonlyArray<{ id: string; width: number; height: number }>;
}

/** Loads `file` (a local HTML file), takes a full-page screenshot to `screenshot`, and reports. */
export async function checkPage(file: string, selector: string, screenshot: string): Promise<PageCheck> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`file://${file}`, { waitUntil: "load" });
    const visible: Array<{ id: string; width: number; height: number }> = [];
    for (const el of await page.locator(selector).all()) {
      const box = await el.boundingBox();
      if (box && (await el.isVisible()))
        visible.push({ id: (await el.getAttribute("id")) ?? "", width: box.width, height: box.height });
    }
    await page.screenshot({ path: screenshot, fullPage: true });
    return { title: await page.title(), errors, visible };
  } finally {
    await browser.close();
  }
}
