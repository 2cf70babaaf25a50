package io.blockkit.http;

import java.io.IOException;

/**
 * An object whose bytes can be fetched by range: what a remote protocol gives {@link RemoteDevice},
 * which adds the block cache, readahead, parallel fetches and retries. Implementations are
 * thread-safe (blocks are fetched from several threads at once) and fixed at open: they learn the
 * object's size and version (an HTTP ETag, an S3 ETag) then, and every fetch either returns bytes
 * of that version or fails.
 */
public interface RangeSource {

  /** The object's size in bytes, as learnt at open. */
  long size();

  /**
   * Reads {@code length} bytes at {@code offset} into {@code dst} from index 0, all of them or an
   * exception. Called only with ranges inside {@link #size()}.
   *
   * @throws TransientException for failures worth retrying (a 5xx answer, a reset connection, a
   *     timeout); {@link RemoteDevice} retries them with back-off
   * @throws io.blockkit.api.error.BlockException for the rest (the object changed or vanished,
   *     access was refused): these are never retried
   */
  void fetch(long offset, byte[] dst, int length) throws IOException;

  /** Releases connections; idempotent. */
  default void close() {
  }
}
