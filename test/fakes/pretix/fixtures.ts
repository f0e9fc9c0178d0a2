import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where the pretix fixtures live. The repository copy (test/fixtures/pretix) wins when present so a
 * fresh clone is self-contained; the shared reference folder next to the repository is the fallback.
 */
export function fixturesDir(explicit?: string): string {
	const candidates = [
		explicit,
		process.env.PRETIX_FIXTURES_DIR,
		resolve(__dirname, '../../fixtures/pretix'),
		resolve(__dirname, '../../../../shared/fixtures/pretix'),
	].filter((dir): dir is string => typeof dir === 'string' && dir.length > 0);
	for (const dir of candidates) {
		if (existsSync(join(dir, 'orders-page-1.json'))) return dir;
	}
	throw new Error(`pretix fixtures not found (looked in: ${candidates.join(', ')})`);
}

export function readFixture<T = unknown>(name: string, dir?: string): T {
	return JSON.parse(readFileSync(join(fixturesDir(dir), name), 'utf8')) as T;
}

/** Deep copy with every `https://pretix.eu` replaced by the fake's own base URL. */
export function rebase<T>(value: T, from: string, to: string): T {
	if (from === to) return structuredClone(value);
	const text = JSON.stringify(value).split(from).join(to);
	return JSON.parse(text) as T;
}

export const FIXTURE_INSTANCE = 'https://pretix.eu';

export const WEBHOOK_FIXTURES = [
	'order-placed',
	'order-placed-require-approval',
	'order-payment-confirmed',
	'order-paid',
	'order-canceled',
	'order-changed-cancel-position',
	'order-changed-item',
	'order-modified',
	'order-approved',
	'order-denied',
	'order-expired',
	'order-reactivated',
	'order-deleted',
	'checkin',
	'event-changed',
] as const;

export type WebhookFixtureName = (typeof WEBHOOK_FIXTURES)[number];

export function webhookFixture(name: WebhookFixtureName, dir?: string): Record<string, unknown> {
	return readFixture<Record<string, unknown>>(`webhooks/${name}.json`, dir);
}

export function errorFixture(name: string, dir?: string): Record<string, unknown> {
	return readFixture<Record<string, unknown>>(`errors/${name}.json`, dir);
}
