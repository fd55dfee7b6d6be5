// github-slugger 1.x (the CommonJS release jest can load) ships no type declarations.
declare module 'github-slugger' {
  class GithubSlugger {
    /** The GitHub anchor of a heading's text; a repeat of an earlier slug gets -1, -2, ... */
    slug(value: string, maintainCase?: boolean): string;
    reset(): void;
  }
  export = GithubSlugger;
}
