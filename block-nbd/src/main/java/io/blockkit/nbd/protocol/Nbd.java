package io.blockkit.nbd.protocol;

/**
 * The numbers of the NBD protocol (fixed newstyle handshake, simple and structured replies), as
 * the protocol description defines them. All integers travel big-endian.
 */
public final class Nbd {
  private Nbd() {}

  /** The default TCP port (IANA). */
  public static final int DEFAULT_PORT = 10809;

  // ------------------------------------------------------------------ greeting and handshake
  /** "NBDMAGIC": the first eight bytes a server sends. */
  public static final long INIT_MAGIC = 0x4e42444d41474943L;
  /** "IHAVEOPT": the newstyle greeting's second word, and the prefix of every option request. */
  public static final long OPTS_MAGIC = 0x49484156454f5054L;
  /** The oldstyle greeting's second word (size and flags follow, then transmission). */
  public static final long OLDSTYLE_MAGIC = 0x00420281861253L;
  /** The prefix of every option reply. */
  public static final long REPLY_MAGIC = 0x0003e889045565a9L;

  /** Server handshake flag: fixed newstyle. */
  public static final int FLAG_FIXED_NEWSTYLE = 1;
  /** Server handshake flag: the 124 zero bytes after EXPORT_NAME may be left out. */
  public static final int FLAG_NO_ZEROES = 2;
  /** Client flag: fixed newstyle. */
  public static final int CLIENT_FIXED_NEWSTYLE = 1;
  /** Client flag: no zero padding after EXPORT_NAME. */
  public static final int CLIENT_NO_ZEROES = 2;

  // ------------------------------------------------------------------ options
  public static final int OPT_EXPORT_NAME = 1;
  public static final int OPT_ABORT = 2;
  public static final int OPT_LIST = 3;
  public static final int OPT_STARTTLS = 5;
  public static final int OPT_INFO = 6;
  public static final int OPT_GO = 7;
  public static final int OPT_STRUCTURED_REPLY = 8;
  public static final int OPT_LIST_META_CONTEXT = 9;
  public static final int OPT_SET_META_CONTEXT = 10;

  // ------------------------------------------------------------------ option replies
  public static final int REP_ACK = 1;
  public static final int REP_SERVER = 2;
  public static final int REP_INFO = 3;
  public static final int REP_META_CONTEXT = 4;
  /** Bit 31 marks an error reply. */
  public static final int REP_FLAG_ERROR = 1 << 31;
  public static final int REP_ERR_UNSUP = REP_FLAG_ERROR | 1;
  public static final int REP_ERR_POLICY = REP_FLAG_ERROR | 2;
  public static final int REP_ERR_INVALID = REP_FLAG_ERROR | 3;
  public static final int REP_ERR_PLATFORM = REP_FLAG_ERROR | 4;
  public static final int REP_ERR_TLS_REQD = REP_FLAG_ERROR | 5;
  public static final int REP_ERR_UNKNOWN = REP_FLAG_ERROR | 6;
  public static final int REP_ERR_SHUTDOWN = REP_FLAG_ERROR | 7;
  public static final int REP_ERR_BLOCK_SIZE_REQD = REP_FLAG_ERROR | 8;
  public static final int REP_ERR_TOO_BIG = REP_FLAG_ERROR | 9;

  // ------------------------------------------------------------------ NBD_INFO types (INFO, GO)
  public static final int INFO_EXPORT = 0;
  public static final int INFO_NAME = 1;
  public static final int INFO_DESCRIPTION = 2;
  public static final int INFO_BLOCK_SIZE = 3;

  // ------------------------------------------------------------------ transmission flags (u16)
  public static final int FLAG_HAS_FLAGS = 1;
  public static final int FLAG_READ_ONLY = 1 << 1;
  public static final int FLAG_SEND_FLUSH = 1 << 2;
  public static final int FLAG_SEND_FUA = 1 << 3;
  public static final int FLAG_ROTATIONAL = 1 << 4;
  public static final int FLAG_SEND_TRIM = 1 << 5;
  public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
  public static final int FLAG_SEND_DF = 1 << 7;
  public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
  public static final int FLAG_SEND_CACHE = 1 << 10;
  public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

  // ------------------------------------------------------------------ requests
  public static final int REQUEST_MAGIC = 0x25609513;
  /** Bytes of a (compact) request header. */
  public static final int REQUEST_HEADER = 28;

  public static final int CMD_READ = 0;
  public static final int CMD_WRITE = 1;
  public static final int CMD_DISC = 2;
  public static final int CMD_FLUSH = 3;
  public static final int CMD_TRIM = 4;
  public static final int CMD_CACHE = 5;
  public static final int CMD_WRITE_ZEROES = 6;
  public static final int CMD_BLOCK_STATUS = 7;

  public static final int CMD_FLAG_FUA = 1;
  public static final int CMD_FLAG_NO_HOLE = 1 << 1;
  public static final int CMD_FLAG_DF = 1 << 2;
  public static final int CMD_FLAG_REQ_ONE = 1 << 3;
  public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

  // ------------------------------------------------------------------ replies
  public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  /** Bytes of a simple reply header. */
  public static final int SIMPLE_REPLY_HEADER = 16;
  public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
  /** Bytes of a structured reply chunk header. */
  public static final int STRUCTURED_REPLY_HEADER = 20;

  public static final int REPLY_FLAG_DONE = 1;

  public static final int REPLY_TYPE_NONE = 0;
  public static final int REPLY_TYPE_OFFSET_DATA = 1;
  public static final int REPLY_TYPE_OFFSET_HOLE = 2;
  public static final int REPLY_TYPE_BLOCK_STATUS = 5;
  /** Bit 15 of a chunk type marks an error chunk. */
  public static final int REPLY_TYPE_FLAG_ERROR = 1 << 15;
  public static final int REPLY_TYPE_ERROR = REPLY_TYPE_FLAG_ERROR | 1;
  public static final int REPLY_TYPE_ERROR_OFFSET = REPLY_TYPE_FLAG_ERROR | 2;

  // ------------------------------------------------------------------ metadata contexts
  public static final String CONTEXT_BASE_ALLOCATION = "base:allocation";
  public static final String CONTEXT_ALLOCATION_DEPTH = "qemu:allocation-depth";
  /** base:allocation: not allocated. */
  public static final int STATE_HOLE = 1;
  /** base:allocation: reads as zeros. */
  public static final int STATE_ZERO = 2;

  // ------------------------------------------------------------------ limits
  /** Strings (export names, messages, context names) are at most this many bytes. */
  public static final int MAX_STRING = 4096;
  /** The largest READ/WRITE payload every peer accepts (and the maximum we advertise). */
  public static final int MAX_PAYLOAD = 32 << 20;
  /** At most this many extents per block status chunk (the protocol's limit). */
  public static final int MAX_EXTENTS = 1 << 20;

  /** A command's name for messages. */
  public static String commandName(int type) {
    return switch (type) {
      case CMD_READ -> "read";
      case CMD_WRITE -> "write";
      case CMD_DISC -> "disconnect";
      case CMD_FLUSH -> "flush";
      case CMD_TRIM -> "trim";
      case CMD_CACHE -> "cache";
      case CMD_WRITE_ZEROES -> "write zeroes";
      case CMD_BLOCK_STATUS -> "block status";
      default -> "command " + type;
    };
  }

  /** An option's name for messages. */
  public static String optionName(int option) {
    return switch (option) {
      case OPT_EXPORT_NAME -> "EXPORT_NAME";
      case OPT_ABORT -> "ABORT";
      case OPT_LIST -> "LIST";
      case OPT_STARTTLS -> "STARTTLS";
      case OPT_INFO -> "INFO";
      case OPT_GO -> "GO";
      case OPT_STRUCTURED_REPLY -> "STRUCTURED_REPLY";
      case OPT_LIST_META_CONTEXT -> "LIST_META_CONTEXT";
      case OPT_SET_META_CONTEXT -> "SET_META_CONTEXT";
      default -> "option " + option;
    };
  }
}
