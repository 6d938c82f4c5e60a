// A labelled <input> with its hint and the API's message: the one-input Field of most forms.
// Every attribute besides those below goes to the input as given.
import type { InputHTMLAttributes } from "react";
import { Field } from "./ui";

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "onChange" | "value">;

export function InputField({
  id,
  label,
  hint,
  error,
  value,
  onValue,
  ...input
}: InputProps & {
  id: string;
  label: string;
  hint?: string;
  error?: string | null;
  value: string | number;
  /** The new text, on each change. */
  onValue: (value: string) => void;
}) {
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      <input id={id} value={value} onChange={(event) => onValue(event.target.value)} {...input} />
    </Field>
  );
}
