// The picked files kept until their outcome is known (IndexedDB keeps the File itself; the browser stores its bytes on disk, not in memory)

const dbName = 'vehicleimages-uploads';
const storeName = 'files';
let database = null;
function db() {
  database ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(storeName, { keyPath: 'key' }).createIndex('vehicleId', 'vehicleId');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return database;
}
async function request(mode, act) {
  const tx = (await db()).transaction(storeName, mode);
  const req = act(tx.objectStore(storeName));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}
export const remember = entry => request('readwrite', s => s.put(entry));
export const forget = key => request('readwrite', s => s.delete(key)).catch(() => {});
export const recall = async vehicleId => {
  const all = await request('readonly', s => s.index('vehicleId').getAll(vehicleId));
  return all.sort((a, b) => a.addedAt - b.addedAt);
};
