import { noChange } from 'lit';
import { Directive, directive, PartType, type AttributePart, type PartInfo } from 'lit/directive.js';

/** CSS property names (dash-case, custom properties too) to values; null or undefined removes one. */
export type StyleProps = Record<string, string | number | null | undefined>;

/**
 * `style=${styleProps({ width: '50%', '--_aspect': '4 / 3' })}`: Lit's styleMap, but through the
 * CSSOM (`style.setProperty`) from the first render on. styleMap writes its first render as a
 * `style` attribute (lit/lit#4719), which a CSP `style-src` without 'unsafe-inline' refuses; the
 * CSSOM is allowed. Keys are CSS names as `setProperty` takes them ('aspect-ratio', not aspectRatio).
 */
class StylePropsDirective extends Directive {
  private names = new Set<string>();

  constructor(info: PartInfo) {
    super(info);
    if (info.type !== PartType.ATTRIBUTE || info.name !== 'style' || (info.strings?.length ?? 0) > 2) {
      throw new Error('styleProps() must be the only binding in a style attribute');
    }
  }

  render(_props: StyleProps): unknown {
    return noChange;
  }

  override update(part: AttributePart, [props]: [StyleProps]): unknown {
    const { style } = part.element as HTMLElement;
    for (const name of this.names) {
      if (props[name] == null) {
        style.removeProperty(name);
        this.names.delete(name);
      }
    }
    for (const [name, value] of Object.entries(props)) {
      if (value == null) continue;
      style.setProperty(name, String(value));
      this.names.add(name);
    }
    return noChange;
  }
}

export const styleProps = directive(StylePropsDirective);
