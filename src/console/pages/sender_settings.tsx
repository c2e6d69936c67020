/**
 * The fields of every per-sender setting (src/senders/settings.ts and the sender row): a blank field means the
 * server's default (shown as the hint), so saving the form neither pins today's defaults on the sender nor drops
 * a value set on purpose.
 */
import type { Config } from "../../config.ts";
import type { DefaultedSetting, Sender } from "../../senders/store.ts";
import {
  CALLBACK_URL_MODES,
  DEFAULT_SIGNATURE_WINDOW_S,
  LENIENCIES,
  MAX_SIGNATURE_WINDOW_SETTING_S,
  SIGNATURE_POLICIES,
} from "../../senders/settings.ts";
import { Field, Select } from "../components.tsx";

/**
 * The value set on the sender, else blank (a setting left to the server's default: the form sends blank =
 * default). A value set on purpose is shown even when it equals today's default, so that saving keeps it.
 */
function own<K extends DefaultedSetting>(s: Sender, name: K): Sender[K] | "" {
  return s.defaults.includes(name) ? "" : s[name];
}

/** Every setting of `sender` as form fields. */
export function SenderSettingsFields(props: { sender: Sender; config: Config }) {
  const { sender: s, config } = props;
  const auth = s.outbound_auth;
  return (
    <>
      <fieldset>
        <legend>Identity and delivery</legend>
        <Field label="Name" name="name" value={s.name} maxlength={200} required />
        <Field
          label="Callback base URL"
          name="callback_base_url"
          type="url"
          value={s.callback_base_url}
          hint="Blank: callbacks go to header.sender_uri"
        />
        <Select
          label="Callback URL mode"
          name="callback_url_mode"
          options={CALLBACK_URL_MODES}
          value={s.callback_url_mode}
          hint="append: add /registry/on-search etc.; exact: post every callback to the URL as given"
        />
        <Field label="JWKS URL" name="jwks_url" type="url" value={s.jwks_url} />
        <label class="check">
          <input type="checkbox" name="auto_approve_subscriptions" checked={s.auto_approve_subscriptions} />
          Approve its subscriptions automatically
        </label>
      </fieldset>
      <fieldset>
        <legend>Rate limits</legend>
        <Field
          label="Requests per minute"
          name="limit_minute"
          type="number"
          value={own(s, "limit_minute")}
          hint={`Blank: the server default (${config.rateLimitMinute})`}
        />
        <Field
          label="Requests per day"
          name="limit_day"
          type="number"
          value={own(s, "limit_day")}
          hint={`Blank: the server default (${config.rateLimitDay})`}
        />
      </fieldset>
      <fieldset>
        <legend>Signatures and test mode</legend>
        <Select
          label="Envelope signature policy"
          name="signature_policy"
          options={["", ...SIGNATURE_POLICIES]}
          value={own(s, "signature_policy")}
          hint={`(any) = the server default (${config.signaturePolicy})`}
        />
        <Field
          label="Signature window, seconds"
          name="signature_max_window_seconds"
          type="number"
          value={own(s, "signature_max_window_seconds")}
          hint={`Longest expires − created accepted; blank: ${DEFAULT_SIGNATURE_WINDOW_S}; at most ${MAX_SIGNATURE_WINDOW_SETTING_S}`}
        />
        <label class="check">
          <input type="checkbox" name="test_mode" checked={s.test_mode} />
          Test sender (placeholder signatures count as none; answers say test_mode)
        </label>
        {LENIENCIES.map((l) => (
          <label class="check" key={l}>
            <input type="checkbox" name={`lenient_${l}`} checked={s.lenient.includes(l)} />
            Lenient: {l}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Outbound authentication (toward its receivers)</legend>
        <Select
          label="Outbound authentication type"
          name="outbound_auth_type"
          options={["none", "bearer", "oauth2"]}
          value={auth.type}
        />
        <Field
          label="Bearer token"
          name="outbound_token"
          type="password"
          maxlength={4096}
          hint={auth.type === "bearer" && auth.token_set ? "Set. Leave blank to keep it." : "For type bearer"}
        />
        <Field
          label="OAuth2 token URL"
          name="outbound_token_url"
          type="url"
          value={auth.type === "oauth2" ? auth.token_url : ""}
        />
        <Field
          label="OAuth2 client id"
          name="outbound_client_id"
          value={auth.type === "oauth2" ? auth.client_id : ""}
          maxlength={256}
        />
        <Field
          label="OAuth2 client secret"
          name="outbound_client_secret"
          type="password"
          maxlength={1024}
          hint={auth.type === "oauth2" && auth.client_secret_set
            ? "Set. Leave blank to keep the current OAuth2 settings; enter it to change them."
            : "For type oauth2"}
        />
        <Field
          label="OAuth2 scope"
          name="outbound_scope"
          value={auth.type === "oauth2" ? auth.scope : ""}
          maxlength={1024}
        />
      </fieldset>
    </>
  );
}
