// What every editing form shares beyond its fields:
// - a refused save takes the user to the first field with a message (scrolled to and focused)
//   and says beside the Save button what is wrong, so the user need not look for it;
// - unsaved changes ask before in-app navigation (the router's blocker) or a reload or close of
//   the tab (beforeunload) drops them.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  type ReactNode,
  type RefObject,
} from "react";
import { useBlocker } from "react-router-dom";
import "./formGuard.css";

// ---- the first invalid field ----------------------------------------------------------------

const CONTROL = "input:not([type=hidden]), select, textarea";

/** The form's messages in document order: fields with one, and messages beside no one field. */
function invalidPlaces(form: HTMLElement): Element[] {
  return [...form.querySelectorAll(".has-error, .field-error, .banner.error")].filter(
    // a field's own message is counted with its field
    (element) => !(element.classList.contains("field-error") && element.closest(".has-error")),
  );
}

/** What the summary calls a place: the field's label, else its section's heading. */
function placeName(place: Element): string | null {
  if (place.classList.contains("has-error")) {
    return place.querySelector("label")?.textContent?.trim() || null;
  }
  if (place.classList.contains("banner")) return null; // a message for the whole form: it is quoted
  return place.closest("fieldset")?.querySelector("legend")?.textContent?.trim() || null;
}

/** Scroll to the place and put the cursor in its field (or its section's first field). */
function focusPlace(place: Element) {
  place.scrollIntoView?.({ block: "center" }); // (jsdom has none)
  const control =
    place.querySelector<HTMLElement>(CONTROL) ??
    (place.classList.contains("banner") ? null : place.closest("fieldset")?.querySelector<HTMLElement>(CONTROL));
  control?.focus({ preventScroll: true });
}

export interface Refusal {
  /** Call when a save is refused (by the form's own checks or by the API). */
  refused: () => void;
  /** The labels of the fields (or sections) with a message, at the last refusal. */
  places: string[];
}

/** After each refusal, once its messages are on the page: scroll to and focus the first. */
export function useRefusalFocus(formRef: RefObject<HTMLElement | null>): Refusal {
  const [refusals, setRefusals] = useState(0);
  const [places, setPlaces] = useState<string[]>([]);
  useEffect(() => {
    const form = formRef.current;
    if (!refusals || !form) return;
    const found = invalidPlaces(form);
    setPlaces([...new Set(found.map(placeName).filter((name): name is string => !!name))]);
    if (found.length) focusPlace(found[0]);
  }, [refusals, formRef]);
  const refused = useCallback(() => setRefusals((n) => n + 1), []);
  return { refused, places };
}

/** Beside the Save button: why the last save was refused, while it still is. */
export function RefusalSummary({ places, general, show }: { places: string[]; general?: string | null; show: boolean }) {
  if (!show) return null;
  const fields = places.length ? `check ${places.join(", ")}` : "";
  const text = [general, fields].filter(Boolean).join("; ");
  return (
    <div className="refusal-summary" role="alert">
      Not saved: {text || "see the messages above"}.
    </div>
  );
}

// ---- unsaved changes ------------------------------------------------------------------------

const LEAVE_QUESTION = "You have unsaved changes. Leave this page and drop them?";

interface Registry {
  set: (id: string, dirty: boolean) => void;
}

const UnsavedChanges = createContext<Registry | null>(null);

/** Around the app's routes (it needs a data router): one blocker for every form on the page. */
export function UnsavedChangesGuard({ children }: { children: ReactNode }) {
  const dirty = useRef(new Map<string, boolean>());
  const [anyDirty, setAnyDirty] = useState(false);
  const registry = useMemo<Registry>(
    () => ({
      set: (id, value) => {
        if (value) dirty.current.set(id, true);
        else dirty.current.delete(id);
        setAnyDirty(dirty.current.size > 0);
      },
    }),
    [],
  );
  // Read at the moment of navigation: a form that has just saved has already said so.
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      dirty.current.size > 0 &&
      (currentLocation.pathname !== nextLocation.pathname || currentLocation.search !== nextLocation.search),
  );
  useEffect(() => {
    if (blocker.state !== "blocked") return;
    if (window.confirm(LEAVE_QUESTION)) {
      dirty.current.clear();
      setAnyDirty(false);
      blocker.proceed();
    } else {
      blocker.reset();
    }
  }, [blocker]);
  useEffect(() => {
    if (!anyDirty) return;
    const ask = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = ""; // older browsers ask only when this is set
    };
    window.addEventListener("beforeunload", ask);
    return () => window.removeEventListener("beforeunload", ask);
  }, [anyDirty]);
  return <UnsavedChanges.Provider value={registry}>{children}</UnsavedChanges.Provider>;
}

/** Says whether this form holds unsaved changes; returns `saved`, to call before navigating
 *  away after a save (the state update would come too late for the blocker). Without the guard
 *  around (a unit test's plain router) it does nothing. */
export function useUnsavedChanges(dirty: boolean): () => void {
  const registry = useContext(UnsavedChanges);
  const id = useId();
  useEffect(() => {
    registry?.set(id, dirty);
  }, [registry, id, dirty]);
  useEffect(() => () => registry?.set(id, false), [registry, id]);
  return useCallback(() => registry?.set(id, false), [registry, id]);
}
