export {
	isValidLocalpart,
	isValidServerName,
	isValidUserId,
	MAX_USER_ID_BYTES,
	parseServerName,
	utf8Length,
	type ParsedServerName,
	type ServerNameProblem,
} from './grammar';
export { NOTE_MESSAGES, REASON_MESSAGES, type MxidNote, type MxidReason } from './messages';
export {
	MAX_INPUT_LENGTH,
	normalizeMxid,
	noteMessage,
	type MxidResult,
	type NormalizeOptions,
} from './normalize';
