// Calls to Relay's HTTP API with a subscriber token: the browser never holds an API key.

export class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }

  // The first field error of Relay's {"errors": {field: [messages]}} shape, or a fallback.
  get message() {
    const errors = this.body && this.body.errors;
    if (errors) {
      const [field, messages] = Object.entries(errors)[0];
      return `${field}: ${[].concat(messages)[0]}`;
    }
    return (this.body && this.body.detail) || `Request failed (HTTP ${this.status}).`;
  }
}

export async function request(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Bound to one subscriber token.
export class RelayApi {
  constructor(token) {
    this.token = token;
  }

  get(path) {
    return request("GET", path, { token: this.token });
  }

  post(path, body) {
    return request("POST", path, { token: this.token, body });
  }

  put(path, body) {
    return request("PUT", path, { token: this.token, body });
  }

  delete(path) {
    return request("DELETE", path, { token: this.token });
  }
}
