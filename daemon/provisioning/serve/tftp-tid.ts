import dgram from 'node:dgram';

// The tftp package (0.1.2) does not check transfer IDs (RFC 1350 section 4): a late retransmission
// from an old transfer, reaching an ephemeral port since reused by a new transfer socket, is taken
// as the new client's packet and makes the server abort that client's transfer with "illegal
// operation". A boot storm on one host showed it in about one transfer in five hundred.
const IncomingRequest = require('tftp/lib/protocol/server/incoming-request') as {
  prototype: { _initSocket(socket: dgram.Socket, onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): void; _address: string; _port: number };
};

const UNKNOWN_TID = Buffer.concat([Buffer.from([0, 5, 0, 5]), Buffer.from('Unknown transfer ID\0')]);
let installed = false;

/**
 * Makes every server transfer accept packets only from its own client's
 * address and port, and answer any other sender with error 5, as the RFC
 * requires (unless what it sent was itself an error), leaving the transfer running.
 */
export function installTransferIdCheck(): void {
  if (installed) return;
  installed = true;
  const original = IncomingRequest.prototype._initSocket;
  IncomingRequest.prototype._initSocket = function (this: { _address: string; _port: number }, socket, onMessage) {
    original.call(this, socket, (msg, rinfo) => {
      if (rinfo.address === this._address && rinfo.port === this._port) return onMessage(msg, rinfo);
      // An ERROR packet is never answered (RFC 1350), a stranger's no more than the client's.
      if (msg.length >= 2 && msg.readUInt16BE(0) === 5) return;
      socket.send(UNKNOWN_TID, rinfo.port, rinfo.address);
    });
  };
}
