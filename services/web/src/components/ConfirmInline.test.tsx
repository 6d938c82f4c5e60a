import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { ConfirmInline } from "./ConfirmInline";

afterEach(cleanup);

function renderIt(onConfirm = vi.fn()) {
  render(
    <ConfirmInline
      label="Delete"
      question="Delete nightly? Its backups stay."
      groupLabel="Delete plan nightly?"
      confirmLabel="Yes, delete"
      keepLabel="Keep it"
      onConfirm={onConfirm}
    />,
  );
  return onConfirm;
}

describe("ConfirmInline", () => {
  it("asks before acting, and acts on yes", () => {
    const onConfirm = renderIt();
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(screen.getByRole("group", { name: "Delete plan nightly?" })).toHaveTextContent("Its backups stay.");
    expect(onConfirm).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Yes, delete" }));
    expect(onConfirm).toHaveBeenCalledTimes(1);
  });

  it("does nothing when kept", () => {
    const onConfirm = renderIt();
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    fireEvent.click(screen.getByRole("button", { name: "Keep it" }));
    expect(onConfirm).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Delete" })).toBeInTheDocument();
  });
});
