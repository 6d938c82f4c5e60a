// The API's refusals of account administration, as messages next to the form's fields.
import { errorMessage, fieldErrors } from "../../api/errors";

export interface FormErrors {
  fields: Record<string, string>;
  general: string | null;
}

/** 422 lists fields (username, role, password); a taken username is a 409 sentence about the username. */
export function newUserErrors(status: number, body: unknown): FormErrors {
  if (status === 409) return { fields: { username: errorMessage(body) }, general: null };
  if (status === 422) {
    const { fields, general } = fieldErrors(body, ["username", "role", "password"]);
    // The password policy may answer with a bare sentence about "the password".
    if (general && /password/i.test(general) && !fields.password) return { fields: { ...fields, password: general }, general: null };
    return { fields, general };
  }
  return { fields: {}, general: errorMessage(body, `The user could not be created (${status}).`) };
}
