package io.blockkit.file;

import com.sun.jna.LastErrorException;

/**
 * The errno of a failed native call. Its own class so that {@link NativeFiles} names no JNA type in
 * a catch clause and loads without JNA; this one is loaded only after a native call failed, so
 * only where JNA is present.
 */
final class NativeErrors {
  private NativeErrors() {}

  /** The error code JNA reported, or -1 when {@code e} is not a failed system call. */
  static int errno(RuntimeException e) {
    return e instanceof LastErrorException l ? l.getErrorCode() : -1;
  }
}
