// The API's refusals of a password change, as messages next to the form's fields.
import { errorMessage, fieldErrors } from "../../api/errors";

export interface PasswordChangeErrors {
  current?: string;
  next?: string;
  repeat?: string;
  general?: string;
}

/** What the form says before sending: the two new passwords must match. */
export function checkNewPasswords(next: string, repeat: string): PasswordChangeErrors {
  if (next !== repeat) return { repeat: "The two new passwords are not the same." };
  return {};
}

/** 401: the current password is wrong; 422: the new one breaks a rule (a sentence, or a field list); 429: slow down. */
export function passwordChangeErrors(status: number, body: unknown): PasswordChangeErrors {
  if (status === 401) return { current: errorMessage(body, "The current password is wrong.") };
  if (status === 422) {
    const { fields, general } = fieldErrors(body, ["current_password", "new_password"]);
    const errors: PasswordChangeErrors = {};
    if (fields.current_password) errors.current = fields.current_password;
    if (fields.new_password) errors.next = fields.new_password;
    // The password policy answers with a bare sentence ("the password must be at least 12 characters long").
    if (general && !errors.next) errors.next = general;
    else if (general) errors.general = general;
    return errors;
  }
  return { general: errorMessage(body, `The password could not be changed (${status}).`) };
}
