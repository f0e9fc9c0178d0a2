import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as entry from './actions/entry';
import * as event from './actions/event';
import * as inviteCode from './actions/inviteCode';
import { router } from './actions/router';
import * as roomMapping from './actions/roomMapping';
import * as seatClaim from './actions/seatClaim';
import * as throttle from './actions/throttle';
import * as ticket from './actions/ticket';
import * as ticketToken from './actions/ticketToken';
import { dedupeStoreConnectionTest } from './methods/credentialTest';

/**
 * The invite ledger: claims (who was already handled), room mappings, per-event statistics and
 * sync cursors, stored privacy-minimally (keyed hashes only) in the backend of the credential.
 */
export class DedupeStore implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dedupe Store',
		name: 'dedupeStore',
		icon: { light: 'file:dedupeStore.svg', dark: 'file:dedupeStore.dark.svg' },
		group: ['transform'],
		version: 1,
		// The operation's action, as n8n's panel names it (test/unit/subtitles.test.ts keeps it in step).
		subtitle:
			'={{ {"ticket/plan":"Plan what tickets change","ticket/record":"Record what happened","ticket/summarize":"Summarize a run","entry/claim":"Claim entries","entry/complete":"Complete entries","entry/fail":"Fail entries","entry/forget":"Forget a person","entry/lookup":"Look up a person","entry/release":"Release entries","roomMapping/followUpgrade":"Follow a room upgrade","roomMapping/list":"List room mappings","roomMapping/planUpgradeInvites":"Plan invites into an upgraded room","roomMapping/resolve":"Resolve rooms for an attendee","roomMapping/set":"Set a room mapping","roomMapping/unset":"Unset room mappings","event/getCursor":"Get a sync cursor","event/stats":"Get event statistics","event/purge":"Purge an event","event/setCursor":"Set a sync cursor","inviteCode/create":"Create an invite code","inviteCode/get":"Inspect an invite code","inviteCode/list":"List invite codes","inviteCode/redeem":"Redeem an invite code","inviteCode/revoke":"Revoke an invite code","seatClaim/claim":"Claim a seat for the sender","throttle/count":"Count an attempt","ticketToken/list":"List ticket tokens","ticketToken/plan":"Plan ticket tokens","ticketToken/record":"Record a ticket token"}[($parameter["resource"] || "") + "/" + $parameter["operation"]] || $parameter["operation"] }}',
		description:
			'Remember who was invited (privacy-minimal, concurrency-safe), map events to rooms, keep statistics',
		defaults: {
			name: 'Dedupe Store',
		},
		usableAsTool: true,
		// Ticket → Record takes the four branches of Plan on inputs of their own, so it runs once, after
		// all of them (n8n's v1 order waits for every input, or for every other branch to finish).
		inputs: `={{ $parameter["resource"] === "ticket" && $parameter["operation"] === "record" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Invite" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Withdraw" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Report" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Unchanged" }] : ["${NodeConnectionTypes.Main}"] }}`,
		// Claim splits items into New and Seen, Plan into its four actions, the self-service operations into their outcomes; the rest have one output.
		outputs: `={{ $parameter["resource"] === "entry" && $parameter["operation"] === "claim" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "New" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Seen" }] : $parameter["resource"] === "ticket" && $parameter["operation"] === "plan" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Invite" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Withdraw" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Report" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Unchanged" }] : $parameter["resource"] === "inviteCode" && $parameter["operation"] === "redeem" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Invite" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Unchanged" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Refused" }] : $parameter["resource"] === "ticketToken" && $parameter["operation"] === "plan" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Create" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Delete" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Unchanged" }] : $parameter["resource"] === "throttle" && $parameter["operation"] === "count" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Allowed" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Throttled" }] : $parameter["resource"] === "seatClaim" && $parameter["operation"] === "claim" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Claimed" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Refused" }] : ["${NodeConnectionTypes.Main}"] }}`,
		credentials: [
			{
				name: 'dedupeStoreApi',
				required: true,
				testedBy: 'dedupeStoreConnectionTest',
			},
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Entry',
						value: 'entry',
						description: 'Claims and outcomes of attendees, GDPR look-up and erasure',
					},
					{
						name: 'Event',
						value: 'event',
						description: 'Statistics, purge, sync cursors',
					},
					{
						name: 'Invite Code',
						value: 'inviteCode',
						description: 'Codes that grant a set of rooms: create, inspect, list, revoke, redeem',
					},
					{
						name: 'Room Mapping',
						value: 'roomMapping',
						description: 'Which Matrix rooms an event’s attendees are invited to',
					},
					{
						name: 'Seat Claim',
						value: 'seatClaim',
						description: 'An attendee claims their ticket for their own Matrix account (one account per seat)',
					},
					{
						name: 'Throttle',
						value: 'throttle',
						description: 'Count attempts per sender and order code; too many in a row are throttled',
					},
					{
						name: 'Ticket',
						value: 'ticket',
						description: 'What each pretix ticket grants: plan invites and withdrawals, record outcomes',
					},
					{
						name: 'Ticket Token',
						value: 'ticketToken',
						description: 'Registration tokens for tickets whose holder has no Matrix account',
					},
				],
				default: 'entry',
			},
			...ticket.description,
			...entry.description,
			...roomMapping.description,
			...event.description,
			...inviteCode.description,
			...seatClaim.description,
			...throttle.description,
			...ticketToken.description,
		],
	};

	methods = {
		credentialTest: {
			dedupeStoreConnectionTest,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
