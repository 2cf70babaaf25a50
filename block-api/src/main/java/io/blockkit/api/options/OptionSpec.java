package io.blockkit.api.options;

import java.util.List;
import java.util.Objects;

/**
 * Describes one option a driver accepts, so that tools can list it ({@code -o help}) and reject
 * unknown keys.
 *
 * @param name the key, lower case, e.g. {@code "preallocation"}
 * @param type the value type
 * @param defaultValue the default in text form, or null when the option has no default
 * @param help a one-line description
 * @param choices the allowed values of an {@link OptionType#ENUM}, empty otherwise
 */
public record OptionSpec(String name, OptionType type, String defaultValue, String help,
    List<String> choices) {

  public OptionSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(help, "help");
    choices = List.copyOf(choices);
    if (type == OptionType.ENUM && choices.isEmpty()) {
      throw new IllegalArgumentException("enum option " + name + " needs choices");
    }
  }

  public static OptionSpec size(String name, String defaultValue, String help) {
    return new OptionSpec(name, OptionType.SIZE, defaultValue, help, List.of());
  }

  public static OptionSpec bool(String name, boolean defaultValue, String help) {
    return new OptionSpec(name, OptionType.BOOL, defaultValue ? "on" : "off", help, List.of());
  }

  public static OptionSpec integer(String name, String defaultValue, String help) {
    return new OptionSpec(name, OptionType.INT, defaultValue, help, List.of());
  }

  public static OptionSpec string(String name, String defaultValue, String help) {
    return new OptionSpec(name, OptionType.STRING, defaultValue, help, List.of());
  }

  public static OptionSpec uuid(String name, String help) {
    return new OptionSpec(name, OptionType.UUID, null, help, List.of());
  }

  public static OptionSpec choice(String name, String defaultValue, String help,
      String... choices) {
    return new OptionSpec(name, OptionType.ENUM, defaultValue, help, List.of(choices));
  }

  /** What the option accepts, for help texts and error messages. */
  public String describeType() {
    return switch (type) {
      case SIZE -> "size";
      case BOOL -> "bool (on/off)";
      case INT -> "number";
      case STRING -> "string";
      case ENUM -> String.join("|", choices);
      case UUID -> "uuid";
    };
  }
}
