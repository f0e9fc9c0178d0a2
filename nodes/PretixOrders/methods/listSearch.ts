import type {
	ILoadOptionsFunctions,
	INodeListSearchItems,
	INodeListSearchResult,
} from 'n8n-workflow';

import { pretixClientFor, type PretixClient, type PretixEvent } from '../../../lib/pretix';
import { resolveOrganizer, toNodeError } from '../actions/common';

async function clientOf(context: ILoadOptionsFunctions): Promise<PretixClient> {
	// Bounded: the editor is waiting for the list.
	return await pretixClientFor(
		context,
		context.getCurrentNodeParameter('authentication') ?? 'pretixOAuth2Api',
		{ maxThrottleRetries: 1, maxFailureRetries: 1, maxRetryAfterMs: 5000, timeoutMs: 15_000 },
	);
}

function matches(filter: string | undefined, ...texts: string[]): boolean {
	const needle = (filter ?? '').trim().toLowerCase();
	return !needle || texts.some((text) => text.toLowerCase().includes(needle));
}

/** pretix names are localized objects ({"en": "…", "de": "…"}); show English, else the first one. */
export function displayName(name: PretixEvent['name'] | undefined, fallback: string): string {
	if (typeof name === 'string' && name.trim()) return name;
	if (name && typeof name === 'object') {
		const text =
			name.en ?? Object.values(name).find((value) => typeof value === 'string' && value.trim());
		if (typeof text === 'string' && text.trim()) return text;
	}
	return fallback;
}

/** Organizers the credential can see; the filter matches name or slug. */
export async function searchOrganizers(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	try {
		const client = await clientOf(this);
		const results: INodeListSearchItems[] = [];
		for (const organizer of await client.organizers()) {
			const name = displayName(organizer.name, organizer.slug);
			if (!matches(filter, name, organizer.slug)) continue;
			results.push({
				name: name === organizer.slug ? name : `${name} (${organizer.slug})`,
				value: organizer.slug,
				...(organizer.public_url ? { url: organizer.public_url } : {}),
			});
		}
		return { results };
	} catch (error) {
		throw toNodeError(this, error);
	}
}

/** Events of the organizer chosen in the node; the filter matches name or slug. */
export async function searchEvents(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	try {
		const client = await clientOf(this);
		const organizer = await resolveOrganizer(client, this.getCurrentNodeParameter('organizer'));
		const results: INodeListSearchItems[] = [];
		for (const event of await client.events(organizer)) {
			const name = displayName(event.name, event.slug);
			if (!matches(filter, name, event.slug)) continue;
			const date = typeof event.date_from === 'string' ? ` · ${event.date_from.slice(0, 10)}` : '';
			results.push({
				name: `${name} (${event.slug})${date}`,
				value: event.slug,
				...(event.public_url ? { url: event.public_url } : {}),
			});
		}
		return { results };
	} catch (error) {
		throw toNodeError(this, error);
	}
}
