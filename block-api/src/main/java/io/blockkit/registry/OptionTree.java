package io.blockkit.registry;

import io.blockkit.api.error.InvalidOptionException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One node's part of qemu's flat option form: its driver and filename, its own options, the
 * {@code file.*} options of the node below, and the {@code backing.*} options (or {@code
 * backing=null}) of its backing image.
 */
record OptionTree(String driver, String filename, Map<String, String> own,
    Map<String, String> file, Map<String, String> backing, boolean backingDropped) {

  static OptionTree split(Map<String, String> opts) throws InvalidOptionException {
    Map<String, String> own = new LinkedHashMap<>();
    Map<String, String> file = new LinkedHashMap<>();
    Map<String, String> backing = new LinkedHashMap<>();
    boolean dropped = false;
    for (Map.Entry<String, String> e : opts.entrySet()) {
      String k = e.getKey();
      if (k.startsWith("file.")) {
        file.put(k.substring(5), e.getValue());
      } else if (k.startsWith("backing.")) {
        backing.put(k.substring(8), e.getValue());
      } else if (k.equals("backing")) {
        if (!"null".equals(e.getValue())) {
          throw new InvalidOptionException("Option 'backing' takes only 'null' (no backing "
              + "image); name another one with backing.file.filename=..., not '"
              + e.getValue() + "'");
        }
        dropped = true;
      } else if (!k.equals("driver") && !k.equals("filename")) {
        own.put(k, e.getValue());
      }
    }
    if (dropped && !backing.isEmpty()) {
      throw new InvalidOptionException("backing=null and backing.* options contradict each other");
    }
    return new OptionTree(opts.get("driver"), opts.get("filename"), own, file, backing, dropped);
  }

  /** True when the node below is described by options rather than by the filename alone. */
  boolean describesFile() {
    return file.containsKey("driver") || file.containsKey("filename");
  }

  /** True when the user named or dropped the backing. */
  boolean backingOverridden() {
    return backingDropped || !backing.isEmpty();
  }
}
