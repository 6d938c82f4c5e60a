// Settings: S3 targets, notification channels (SMTP, webhooks), defaults and the restore lock.
// Admins edit; operators read; secrets are write-only everywhere.
import { useCan } from "../auth/session";
import { DefaultsSection } from "../components/settings/DefaultsSection";
import { RepositoriesSection } from "../components/settings/RepositoriesSection";
import { RestoreLockSection } from "../components/settings/RestoreLockSection";
import { SmtpSection } from "../components/settings/SmtpSection";
import { TargetsSection } from "../components/settings/TargetsSection";
import { WebhooksSection } from "../components/settings/WebhooksSection";
import { useSettings } from "../components/settings/common";
import { ErrorBanner, Loading, Notice, Page } from "../components/ui";
import "../components/settings/settings.css";

export function SettingsPage() {
  const can = useCan();
  const readable = can("GET", "/settings");
  return (
    <Page title="Settings">
      <div className="settings-page">{readable ? <SettingsSections /> : <Notice>Your role may not see the settings.</Notice>}</div>
    </Page>
  );
}

function SettingsSections() {
  const can = useCan();
  const settings = useSettings();
  if (settings.isPending) return <Loading what="Loading settings" />;
  if (settings.error) return <ErrorBanner error={settings.error} />;
  const { targets, smtp, webhooks, defaults } = settings.data;
  const readOnly = !can("PUT", "/settings/defaults") && !can("POST", "/settings/targets");
  return (
    <>
      {readOnly ? <Notice>You can read the settings; an admin changes them.</Notice> : null}
      <TargetsSection targets={targets} />
      <SmtpSection smtp={smtp} />
      <WebhooksSection webhooks={webhooks} />
      <DefaultsSection defaults={defaults} />
      <RepositoriesSection />
      <RestoreLockSection />
    </>
  );
}
