import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as estimate from './actions/estimate.operation';
import * as members from './actions/members.operation';
import * as message from './actions/message.operation';
import * as preflight from './actions/preflight.operation';
import * as setUpSpace from './actions/setUpSpace.operation';
import { router } from './actions/router';

/**
 * Gets attendees into Matrix rooms and keeps the rooms tidy: invites (rate-limit aware, each
 * person invited once), revokes for cancelled orders, membership statistics, and notices.
 */
export class MatrixInvite implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Matrix Invite',
		name: 'matrixInvite',
		icon: { light: 'file:matrixInvite.svg', dark: 'file:matrixInvite.dark.svg' },
		group: ['output'],
		version: 1,
		// The operation's action, as n8n's panel names it (test/unit/subtitles.test.ts keeps it in step).
		subtitle:
			'={{ {"estimate":"Estimate how long invites take","invite":"Invite people into rooms","membership":"Report room memberships","message":"Post a notice to a room","preflight":"Check what the bot can do in rooms","revoke":"Revoke invites or remove people","setUpSpace":"Set up a space and its child rooms"}[$parameter["operation"]] || $parameter["operation"] }}',
		description:
			'Invite people into Matrix rooms, revoke invites, report memberships, post notices and check rooms before a batch',
		defaults: {
			name: 'Matrix Invite',
		},
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'matrixBotApi',
				required: true,
			},
		],
		properties: [
			{
				// Added with Preflight (more than five operations). The default keeps every workflow
				// saved before it (no "resource" parameter) on the operations it had.
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Invite and Notify', value: 'member' },
					{ name: 'Room', value: 'room' },
				],
				default: 'member',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['member'] } },
				options: [
					{
						name: 'Estimate Time',
						value: 'estimate',
						description: "How long inviting these people takes at the homeserver's pace (no request is made)",
						action: 'Estimate how long invites take',
					},
					{
						name: 'Invite',
						value: 'invite',
						description: 'Invite each person into one or more rooms',
						action: 'Invite people into rooms',
					},
					{
						name: 'Membership',
						value: 'membership',
						description:
							'Report whether each person is invited, joined, left or never was in a room',
						action: 'Report room memberships',
					},
					{
						name: 'Message',
						value: 'message',
						description: 'Post a notice to a room, optionally as a reply',
						action: 'Post a notice to a room',
					},
					{
						name: 'Revoke',
						value: 'revoke',
						description: 'Withdraw pending invites or remove people from rooms',
						action: 'Revoke invites or remove people',
					},
				],
				default: 'invite',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['room'] } },
				options: [
					{
						name: 'Preflight',
						value: 'preflight',
						description:
							'Check each room before a batch: can the bot invite and withdraw there, its join rule, encryption, room version, whether it was replaced (reads only)',
						action: 'Check what the bot can do in rooms',
					},
					{
						name: 'Set Up Space',
						value: 'setUpSpace',
						description:
							'Make rooms children of a space and restrict them to it where the bot has the power; reports what it changed and what it could not',
						action: 'Set up a space and its child rooms',
					},
				],
				default: 'preflight',
			},
			...members.description,
			...message.description,
			...estimate.description,
			...preflight.description,
			...setUpSpace.description,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
