package io.blockkit.nbd;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.nbd.protocol.NbdError;
import io.blockkit.nbd.protocol.Wire;

/** Turns a server's error reply into blockkit's exceptions, naming the server and the request. */
final class ClientErrors {
  private ClientErrors() {}

  static BlockException of(String uri, Pending p) {
    NbdError e = NbdError.of(p.error);
    String known = e.code() == p.error ? e.text() : "error " + p.error;
    String what = "NBD server " + uri + " failed " + p.describe() + ": " + known
        + (p.message == null || p.message.isBlank() ? "" : " (" + Wire.printable(p.message) + ")");
    return switch (e) {
      case EPERM -> new ImageAccessException(uri, Reason.ACCESS_DENIED, p.describe()
          + " refused by the server" + serverSays(p), null);
      case ENOSPC -> new ImageAccessException(uri, Reason.NO_SPACE, p.describe()
          + serverSays(p), null);
      case ENOTSUP -> new UnsupportedFeatureException(what);
      default -> new BlockException(what);
    };
  }

  private static String serverSays(Pending p) {
    return p.message == null || p.message.isBlank() ? ""
        : ": " + Wire.printable(p.message);
  }
}
