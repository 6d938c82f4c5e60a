import { describe, expect, it } from "vitest";
import { svgDataUrl } from "./svgImage";

describe("svgDataUrl", () => {
  it("adds the namespace inline SVG leaves out, and encodes the markup", () => {
    const url = svgDataUrl('<svg width="4" height="4"><path d="M0 0h1"/></svg>');
    expect(url.startsWith("data:image/svg+xml;utf8,")).toBe(true);
    const markup = decodeURIComponent(url.slice("data:image/svg+xml;utf8,".length));
    expect(markup).toBe('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><path d="M0 0h1"/></svg>');
    expect(url).not.toMatch(/[<>"#]/);
  });

  it("keeps a namespace that is there", () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1"></svg>';
    expect(decodeURIComponent(svgDataUrl(svg).split(",")[1])).toBe(svg);
  });
});
