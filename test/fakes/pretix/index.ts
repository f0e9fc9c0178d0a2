export * from './fake-pretix';
export * from './generator';
export * from './webhook-sender';
export { actionMatches, isoToUs, usToIso, WEBHOOK_ACTION_TYPES, type FakeWebhook, type TeamToken, type OAuthClient } from './state';
export { fixturesDir, readFixture, webhookFixture, errorFixture, WEBHOOK_FIXTURES, type WebhookFixtureName } from './fixtures';
export { expectedInactiveReason, type ExpectedInactiveReason, type ExpectedAccessOptions } from './access';
export { redirectUriAllowed, type HttpRedirectPolicy } from './oauth';
