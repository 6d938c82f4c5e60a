// The enrolment QR code comes from our server as inline SVG markup. It is shown through an
// <img> data URL rather than inserted into the page: an image cannot run scripts, whatever it holds.

const SVG_NAMESPACE = "http://www.w3.org/2000/svg";

/** A data: URL for an <img>; adds the SVG namespace that inline markup leaves out (images need it). */
export function svgDataUrl(markup: string): string {
  let svg = markup.trim();
  if (/^<svg\b/i.test(svg) && !/^<svg\b[^>]*\sxmlns=/i.test(svg)) {
    svg = svg.replace(/^<svg\b/i, `<svg xmlns="${SVG_NAMESPACE}"`);
  }
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}
