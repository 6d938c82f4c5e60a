// Copy to the clipboard, one way for every page.

/** Copies `text`; false when the browser refuses (no clipboard on plain http, or no permission),
 *  so the caller can offer another way (select, download). Never throws. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
