import Argon2 from '@phi-ag/argon2'
// workerd forbids compiling WebAssembly at run time; a static import is compiled at deploy.
import wasm from '@phi-ag/argon2/argon2.wasm'

let instance: Promise<Argon2> | undefined

/** The argon2 module, instantiated once per isolate. */
export function loadArgon2(): Promise<Argon2> {
  instance ??= WebAssembly.instantiate(wasm as WebAssembly.Module).then((i) => new Argon2(i))
  return instance
}
