declare module 'vitest' {
  export interface ProvidedContext {
    jwksPort: number;
  }
}
export {};
