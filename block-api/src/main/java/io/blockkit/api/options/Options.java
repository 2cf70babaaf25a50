package io.blockkit.api.options;

import io.blockkit.api.error.InvalidOptionException;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Immutable, typed option values checked against a driver's {@link OptionSpec}s. Values not given
 * explicitly take the spec's default; {@link #isSet} tells the two apart.
 */
public final class Options {
  private static final Options EMPTY = new Options(Map.of(), Map.of(), Set.of());

  private final Map<String, OptionSpec> specs;
  private final Map<String, Object> values;
  private final Set<String> explicit;

  private Options(Map<String, OptionSpec> specs, Map<String, Object> values, Set<String> explicit) {
    this.specs = specs;
    this.values = values;
    this.explicit = explicit;
  }

  /** No options and no specs. */
  public static Options empty() {
    return EMPTY;
  }

  /**
   * Parses a {@code key=value,...} string against {@code specs}.
   *
   * @throws InvalidOptionException for a malformed string, an unknown key, a repeated key or a bad value, naming it
   */
  public static Options parse(String text, Collection<OptionSpec> specs)
      throws InvalidOptionException {
    return of(OptionStrings.split(text), specs);
  }

  /**
   * Checks and converts {@code raw} against {@code specs}: an unknown key or a malformed value is
   * an {@link InvalidOptionException} naming the key and what it allows.
   *
   * @throws InvalidOptionException for an unknown key or a bad value, naming it and what it allows
   */
  public static Options of(Map<String, String> raw, Collection<OptionSpec> specs)
      throws InvalidOptionException {
    Map<String, OptionSpec> byName = new LinkedHashMap<>();
    for (OptionSpec s : specs) {
      byName.put(s.name(), s);
    }
    Map<String, Object> values = new LinkedHashMap<>();
    for (OptionSpec s : specs) {
      if (s.defaultValue() != null) {
        values.put(s.name(), convert(s, s.defaultValue()));
      }
    }
    for (Map.Entry<String, String> e : raw.entrySet()) {
      OptionSpec s = byName.get(e.getKey());
      if (s == null) {
        throw new InvalidOptionException("Invalid option '" + e.getKey() + "'"
            + (byName.isEmpty() ? ": this driver takes no options"
                : "; valid options are: " + String.join(", ", byName.keySet())));
      }
      values.put(s.name(), convert(s, e.getValue()));
    }
    return new Options(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(values),
        Set.copyOf(raw.keySet()));
  }

  private static Object convert(OptionSpec s, String v) throws InvalidOptionException {
    String what = "Option '" + s.name() + "'";
    return switch (s.type()) {
      case SIZE -> Sizes.parse(v, what);
      case BOOL -> switch (v.toLowerCase(Locale.ROOT)) {
        case "on", "true", "yes" -> Boolean.TRUE;
        case "off", "false", "no" -> Boolean.FALSE;
        default -> throw new InvalidOptionException(
            what + ": '" + v + "' is not a boolean; expected on, off, true or false");
      };
      case INT -> {
        try {
          yield Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
          throw new InvalidOptionException(what + ": '" + v + "' is not an integer");
        }
      }
      case STRING -> v;
      case ENUM -> {
        if (!s.choices().contains(v)) {
          throw new InvalidOptionException(what + ": '" + v + "' is not allowed; expected one of "
              + String.join(", ", s.choices()));
        }
        yield v;
      }
      case UUID -> {
        try {
          UUID u = UUID.fromString(v.trim());
          if (!u.toString().equalsIgnoreCase(v.trim())) {
            throw new IllegalArgumentException();
          }
          yield u;
        } catch (IllegalArgumentException e) {
          throw new InvalidOptionException(what + ": '" + v + "' is not a UUID; expected the form "
              + "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
        }
      }
    };
  }

  /** The specs these options were checked against. */
  public List<OptionSpec> specs() {
    return List.copyOf(specs.values());
  }

  /** True when the key was given explicitly (not just defaulted). */
  public boolean isSet(String key) {
    return explicit.contains(key);
  }

  /** True when the key has a value, explicit or default. */
  public boolean has(String key) {
    return values.containsKey(key);
  }

  public long size(String key) {
    return (Long) require(key, OptionType.SIZE);
  }

  public boolean bool(String key) {
    return (Boolean) require(key, OptionType.BOOL);
  }

  public long integer(String key) {
    return (Long) require(key, OptionType.INT);
  }

  public String string(String key) {
    Object v = require(key, null);
    return v.toString();
  }

  public Optional<UUID> uuid(String key) {
    spec(key, OptionType.UUID);
    return Optional.ofNullable((UUID) values.get(key));
  }

  /** The value if present, explicit or default. */
  public Optional<Object> get(String key) {
    return Optional.ofNullable(values.get(key));
  }

  /**
   * A copy with {@code key} set to {@code value} (checked against the same specs).
   *
   * @throws InvalidOptionException when {@code key} is unknown or {@code value} is bad
   */
  public Options with(String key, String value) throws InvalidOptionException {
    Map<String, String> raw = new LinkedHashMap<>();
    for (String k : explicit) {
      raw.put(k, specs.get(k).type() == OptionType.BOOL ? (bool(k) ? "on" : "off")
          : String.valueOf(values.get(k)));
    }
    raw.put(key, value);
    return of(raw, specs.values());
  }

  private OptionSpec spec(String key, OptionType type) {
    OptionSpec s = specs.get(key);
    if (s == null) {
      throw new IllegalArgumentException("no option spec named " + key);
    }
    if (type != null && s.type() != type) {
      throw new IllegalArgumentException("option " + key + " is " + s.type() + ", not " + type);
    }
    return s;
  }

  private Object require(String key, OptionType type) {
    spec(key, type);
    Object v = values.get(key);
    if (v == null) {
      throw new IllegalStateException("option " + key + " has no value and no default");
    }
    return v;
  }

  @Override
  public String toString() {
    return values.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(","));
  }
}
