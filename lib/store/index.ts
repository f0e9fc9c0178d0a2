export * from './types';
export { SubjectHasher, canonicalMatrixId, canonicalOrderCode, type HashPurpose } from './hashing';
export {
	Ledger,
	DEFAULT_LEASE_SECONDS,
	type ClaimResult,
	type LedgerEntryInput,
	type LedgerOptions,
	type PersonInput,
	type RoomQuery,
} from './ledger';
export {
	planTickets,
	recordTicketOutcomes,
	summarizeTicketRun,
	combineTicketSummaries,
	INVALID_SCOPE,
	UNREACHABLE_BACKOFF_MS,
	type PlanOptions,
	type RecordInput,
	type RecordResult,
	type RunEntry,
	type TicketRunSummary,
	type StepAction,
	type TicketAccess,
	type TicketInput,
	type TicketStep,
} from './tickets';
export { Sealer } from './sealing';
export { SqliteBackend, type SqliteOptions } from './sqlite';
export { PostgresBackend, type PostgresOptions } from './postgres';
export { RedisBackend, type RedisStoreOptions } from './redis';
export {
	closeAllLedgers,
	createBackend,
	defaultSqlitePath,
	DEFAULT_SQLITE_FILE,
	testStoreCredential,
	withLedger,
	type StoreCredential,
} from './config';
export {
	claimSeats,
	countUpgradeOwed,
	isOwedAfterUpgrade,
	planUpgradeInvites,
	type UpgradeInvitePlan,
	CLAIM_SCOPE,
	TICKET_TOKEN_SCOPE,
	type ClaimOptions,
	type SeatInput,
	type SeatResult,
	type SeatStatus,
} from './tickets';
export {
	canonicalCode,
	countAttempt,
	createInviteCode,
	formatCode,
	inspectInviteCode,
	INVITE_CODE_SCOPE,
	listInviteCodes,
	listTicketTokens,
	planTicketTokens,
	recordTicketTokens,
	redeemInviteCode,
	revokeInviteCode,
	THROTTLE_SCOPE,
	type InviteCodeInfo,
	type InviteCodeStatus,
	type RedeemResult,
	type RedeemStatus,
	type ThrottleKey,
	type ThrottleResult,
	type TicketTokenInput,
	type TicketTokenRecord,
	type TicketTokenStep,
} from './codes';
