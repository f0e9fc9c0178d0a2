import type {
	IDataObject,
	INodeType,
	INodeTypeDescription,
	IRun,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { normaliseHomeserverUrl } from '../../lib/matrix/client';
import { DEFAULT_COMMANDS } from '../../lib/matrix/commands';
import {
	CommandListener,
	type CommandEvent,
	type ListenerState,
	type PermissionMode,
	type RoomUpgradeEvent,
} from '../../lib/matrix/listener';
import type { EncryptionMode } from '../../lib/matrix/crypto';
import { commandDeduplicationKey, handOff } from './hand-off';
import { accessTokenFor } from './session';

function list(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.map((v) => v.trim())
		.filter(Boolean);
}

/** The Max Command Age option; unset or unusable: 10 minutes. */
function maxCommandAgeMinutes(value: unknown): number {
	const minutes = Number(value ?? 10);
	return Number.isFinite(minutes) && minutes >= 0 ? minutes : 10;
}

/**
 * Starts a workflow for each chat command typed in a Matrix room (e.g. `!batchinvite`), from
 * permitted users only. Keeps the sync position and the handled event IDs in the workflow's static
 * data, so a restart neither replays nor loses commands.
 */
export class MatrixCommandTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Matrix Command Trigger',
		name: 'matrixCommandTrigger',
		icon: { light: 'file:matrixCommandTrigger.svg', dark: 'file:matrixCommandTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ ($parameter["prefix"] || "!") + " commands" }}',
		description: 'Starts the workflow when a permitted user types a bot command in a Matrix room',
		defaults: {
			name: 'Matrix Command Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'matrixBotApi',
				required: true,
			},
		],
		properties: [
			{
				displayName: 'Command Prefix',
				name: 'prefix',
				type: 'string',
				default: '!',
				description: 'What a message must start with to be a command',
			},
			{
				displayName: 'Commands',
				name: 'commands',
				type: 'string',
				default: DEFAULT_COMMANDS.join(', '),
				description:
					'Commands that start the workflow, separated by commas. Others get the help text (option) or nothing.',
			},
			{
				displayName: 'Rooms',
				name: 'rooms',
				type: 'string',
				default: '',
				placeholder: '#orga:example.org',
				description:
					'Only listen in these rooms (IDs, aliases or matrix.to / matrix: room links, separated by commas). Empty: every room the bot is in.',
			},
			{
				displayName: 'Who May Use Commands',
				name: 'permissionMode',
				type: 'options',
				options: [
					{
						name: 'Bot Admins and Room Moderators',
						value: 'allowlistOrPowerLevel',
						description: 'Bot admins everywhere; moderators of a room for the events mapped to that room',
					},
					{ name: 'Bot Admins Only', value: 'allowlist' },
					{ name: 'Room Moderators Only', value: 'powerLevel', description: 'No bot admins: every room acts on its own events' },
					{
						name: 'Bot Admins Who Moderate the Room',
						value: 'allowlistAndPowerLevel',
						description: 'Only bot admins, and only in rooms where they are moderators',
					},
				],
				default: 'allowlistOrPowerLevel',
			},
			{
				displayName: 'Bot Admins',
				name: 'allowlist',
				type: 'string',
				default: '',
				placeholder: '@alice:example.org, @bob:example.org',
				description:
					'Matrix IDs that may command the bot for every event, in any room (separated by commas). Everyone else acts only as a moderator of a room, for that room\'s events.',
			},
			{
				displayName: 'Moderator Power Level',
				name: 'minPowerLevel',
				type: 'number',
				default: 50,
				description: 'Power level that makes someone a moderator of the room where they type a command (50: moderators)',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Auto-Join Invites',
						name: 'autoJoin',
						type: 'boolean',
						default: false,
						description: 'Whether to join rooms the bot is invited to by a bot admin (invites from anyone else are ignored)',
					},
					{
						displayName: 'Direct Messages From Anyone',
						name: 'directMessages',
						type: 'boolean',
						default: false,
						description:
							'Whether anyone may use these commands in a direct message with the bot (it joins direct-message invites from anyone); such commands carry role "member" and direct: true. Use it for self-service commands only.',
					},
					{
						displayName: 'End-to-End Encryption',
						name: 'encryption',
						type: 'options',
						options: [
							{
								name: 'When a Room Is Encrypted',
								value: 'auto',
								description: 'Set up the bot\'s encryption device when a room it listens in is encrypted at start (or it has one already)',
							},
							{ name: 'Always', value: 'always', description: 'Also for rooms that become encrypted later' },
							{ name: 'Off', value: 'off', description: 'Encrypted rooms are neither read nor answered' },
						],
						default: 'auto',
						description: 'Whether the trigger reads and answers commands in end-to-end encrypted rooms (see the README: where the store lives, verifying the bot device)',
					},
					{
						displayName: 'Follow Room Upgrades',
						name: 'followRoomUpgrades',
						type: 'boolean',
						default: false,
						description:
							'Whether to join the replacement room when a room is upgraded (m.room.tombstone) and emit one item with kind "roomUpgrade", roomId and replacementRoom (no command fields); route it by kind',
					},
					{
						displayName: 'Help on Unknown Commands',
						name: 'helpOnUnknown',
						type: 'boolean',
						default: true,
						description:
							'Whether to answer an unknown command from a permitted user with the list of commands',
					},
					{
						displayName: 'Max Command Age (Minutes)',
						name: 'maxCommandAgeMinutes',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 10,
						description:
							'Commands typed while n8n was down are run after the restart when they are at most this old; older ones are answered once with "missed while offline, please repeat"',
					},
					{
						displayName: 'Reply to Refused Users',
						name: 'replyToRefused',
						type: 'boolean',
						default: true,
						description: 'Whether to tell users who may not use commands so, in one short notice',
					},
				],
			},
		],
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const credentials = await this.getCredentials('matrixBotApi');
		let homeserverUrl: string;
		try {
			homeserverUrl = normaliseHomeserverUrl(String(credentials.homeserverUrl ?? ''));
		} catch (error) {
			throw new NodeOperationError(
				this.getNode(),
				`The Matrix Bot API credential is not usable: ${(error as Error).message}`,
			);
		}
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const staticData = this.getWorkflowStaticData('node');
		const manual = this.getMode() === 'manual';
		const commands = list(this.getNodeParameter('commands', DEFAULT_COMMANDS.join(','))).map((c) =>
			c.toLowerCase(),
		);
		const minPowerLevel = Number(this.getNodeParameter('minPowerLevel', 50));
		let onFirstCommand: (() => void) | undefined;
		const closing = new AbortController();
		// n8n's Engine 2.0 refuses triggers that wait for their execution (engine-v2-active-triggers.js
		// assertSupported), so there the command is handed over without a receipt.
		const engineV2 = this.getWorkflowSettings?.()?.engineType === 'v2';
		const workflowId = String(this.getWorkflow().id ?? '');
		const nodeId = String(this.getNode().id ?? this.getNode().name);

		// Commands and room upgrades alike: one item per Matrix event, handed over once per event ID.
		const emitCommand = (command: CommandEvent | RoomUpgradeEvent) => {
			const data = [this.helpers.returnJsonArray([command as unknown as IDataObject])];
			if (manual || engineV2) {
				this.emit(data);
				onFirstCommand?.();
				return;
			}
			// Until n8n has started an execution for it: under load n8n may fail to (see hand-off.ts).
			const key = commandDeduplicationKey(workflowId, nodeId, command.eventId);
			void handOff({
				emit: (done) => this.emit(data, undefined, done, key),
				createDeferred: () => this.helpers.createDeferredPromise<IRun>(),
				signal: closing.signal,
				warn: (message) => this.logger.warn(`Matrix Command Trigger: ${message}`),
			});
		};
		const accessToken = await accessTokenFor(this, credentials, homeserverUrl);
		const listener = new CommandListener({
			homeserverUrl,
			accessToken,
			prefix: String(this.getNodeParameter('prefix', '!') || '!'),
			commands: commands.length ? commands : DEFAULT_COMMANDS,
			rooms: list(this.getNodeParameter('rooms', '')),
			allowlist: list(this.getNodeParameter('allowlist', '')),
			minPowerLevel: Number.isFinite(minPowerLevel) ? minPowerLevel : 50,
			permissionMode: this.getNodeParameter(
				'permissionMode',
				'allowlistOrPowerLevel',
			) as PermissionMode,
			replyToRefused: options.replyToRefused !== false,
			helpOnUnknown: options.helpOnUnknown !== false,
			autoJoin: options.autoJoin === true,
			directMessages: options.directMessages === true,
			maxCommandAgeMs: maxCommandAgeMinutes(options.maxCommandAgeMinutes) * 60_000,
			encryption: (['auto', 'always', 'off'].includes(String(options.encryption)) ? options.encryption : 'auto') as EncryptionMode,
			cryptoPassphrase: String(credentials.cryptoStorePassphrase ?? ''),
			state: {
				syncToken: typeof staticData.syncToken === 'string' ? staticData.syncToken : undefined,
				syncTokenOwner:
					typeof staticData.syncTokenOwner === 'string' ? staticData.syncTokenOwner : undefined,
				seenEventIds: Array.isArray(staticData.seenEventIds)
					? (staticData.seenEventIds as string[])
					: [],
			},
			// n8n saves the static data when an emit starts, so the cursor is current before each run.
			onState: (state: ListenerState) => {
				staticData.syncToken = state.syncToken;
				staticData.syncTokenOwner = state.syncTokenOwner;
				staticData.seenEventIds = state.seenEventIds ?? [];
			},
			onCommand: emitCommand,
			// Off unless set: workflows saved before the option get no items they would misread.
			followRoomUpgrades: options.followRoomUpgrades === true,
			onRoomUpgrade: emitCommand,
			onError: (error, fatal) => {
				if (fatal) this.emitError(error);
				else this.logger.warn(`Matrix Command Trigger: ${error.message}`);
			},
		});

		const closeFunction = async () => {
			closing.abort();
			await listener.close();
		};

		if (!manual) {
			// Connecting may wait for an unreachable homeserver (backoff): do not block activation.
			listener.start().catch((error: Error) => {
				if (!/closed before it connected/.test(error.message)) this.emitError(error);
			});
			return { closeFunction };
		}

		const manualTriggerFunction = async () => {
			const first = new Promise<void>((resolve) => {
				onFirstCommand = resolve;
			});
			await listener.start();
			await first;
		};
		return { closeFunction, manualTriggerFunction };
	}
}
