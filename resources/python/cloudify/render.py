# Renders a resource template with Jinja2, as the original's download_resource_and_render:
# `python3 -m cloudify.render REQUEST_FILE OUTPUT_FILE` reads {"template": ..., "variables":
# {...}} and writes the rendered text to OUTPUT_FILE. Undefined names are errors, as there.
import json
import sys


def main():
    try:
        import jinja2
    except ImportError:
        sys.stderr.write('Jinja2 is not installed for python3 (Debian: python3-jinja2)\n')
        return 3
    with open(sys.argv[1], encoding='utf-8') as f:
        request = json.load(f)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        template = environment.from_string(request['template'])
        text = template.render(**request.get('variables', {}))
        with open(sys.argv[2], 'w', encoding='utf-8') as out:
            out.write(text)
    except jinja2.TemplateError as e:
        sys.stderr.write('%s: %s\n' % (type(e).__name__, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
