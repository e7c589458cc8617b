import type { Codec } from '../../admin/domain/extension';
import type { KeyType } from '../../admin/domain/keys';

/** How a vendor writes a zone and its daylight-saving rule: see model/timezone.ts. */
export type TimezoneFormat = 'yealink' | 'polycom' | 'cisco' | 'posix' | 'snom' | 'fanvil';

/** `xml` files are escaped as XML; `lines` files (key = value grammars) have line breaks and control characters removed. */
export type FileFormat = 'xml' | 'lines';

export interface FileRule {
  /** Matched against the whole requested path once a vendor sub-path is removed; groups `mac`, `model` and `tag` are read. */
  pattern: RegExp;
  /** The name a device asks for, with {mac}, {MAC}, {model} and {tag} to fill: for previews and tests. */
  example: string;
  /** A file in provisioning-templates/<family id>/. */
  template: string;
  /** Per-device files carry secrets; common files never do. */
  perDevice: boolean;
  /**
   * The tenant's corporate directory rather than the device's settings: served behind the device's
   * credentials like its own files, only to a device on an extension whose directory is on.
   */
  directory?: true;
  format: FileFormat;
  contentType: string;
}

export interface ModelSpec {
  name: string;
  aliases?: string[];
  /** An ATA's analog ports, each its own extension; a phone has none. */
  ports?: number;
  /**
   * `table`: the ports are rows of one table and take their server from a shared profile (Grandstream HT81x);
   * otherwise each port is a whole SIP account of its own (HT802, SPA112).
   */
  portLayout?: 'table';
  /** A per-model token some common file names carry (Yealink's y0000000000XX.cfg). */
  tag?: string;
}

/** A key type's code in the vendor's files, and what its value is followed by where the vendor marks the type there (Fanvil's `/ba`). */
export interface KeyCode {
  code: string;
  suffix?: string;
}

export interface KeyFormat {
  /** Each key type the family offers; a type missing here is left out of its files. */
  types: Partial<Record<KeyType, KeyCode>>;
  /** Expansion modules its templates address; keys of a module beyond them are left out. */
  modules: number;
}

export interface VendorFamily {
  id: string;
  name: string;
  /** Folders phones of this family ask under (`/prov/Grandstream/cfg….xml`): a hint that settles names several families share. */
  subPaths: string[];
  models: ModelSpec[];
  /** MAC prefixes (first six hex digits) the vendor's devices are made with. */
  ouis: string[];
  userAgent: RegExp;
  files: FileRule[];
  /** Names phones ask for that we know and do not serve (logs, directories): answered "not found" without counting as a scan. */
  ignored: RegExp[];
  resync: { config: string; reboot: string };
  timezone: TimezoneFormat;
  keys: KeyFormat;
  /** The vendor's name for each codec; a codec missing here is left out of that vendor's list. */
  codecNames: Partial<Record<Codec, string>>;
  /** A line grammar for `lines` files, checked by the tests. */
  lineGrammar?: RegExp;
}
