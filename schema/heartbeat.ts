// No zod here: the client imports these values, and its bundle carries no schema library.

/**
 * The live socket's heartbeat, byte for byte: a client sends LIVE_PING now and then and the runtime
 * answers LIVE_PONG without waking the DO (its auto-response), so a client can tell a quiet job from a
 * dead connection.
 */
export const LIVE_PING = '{"type":"ping"}';
export const LIVE_PONG = '{"type":"pong"}';
