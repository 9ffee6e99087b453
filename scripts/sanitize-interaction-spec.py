# The published Interaction API spec uses types OpenAPI 3.0 does not have ("double", "float", "int")
# and siblings next to $ref; schemathesis refuses to generate cases for such schemas. This writes a
# copy with those fixed (number/integer, $ref alone) and changes nothing else.
#   python3 scripts/sanitize-interaction-spec.py IN.yaml OUT.yaml
import yaml,sys
spec=yaml.safe_load(open(sys.argv[1]))
fixes={'double':('number','double'),'float':('number','float'),'int':('integer',None)}
def walk(o):
    if isinstance(o,dict):
        t=o.get('type')
        if isinstance(t,str) and t in fixes:
            o['type'],fmt=fixes[t]
            if fmt: o['format']=fmt
        if '$ref' in o and len(o)>1:
            # OpenAPI 3.0 ignores siblings of $ref; keep only the ref
            for k in list(o):
                if k!='$ref': del o[k]
        if o.get('type')=='boolean': o.pop('maxLength',None)
        if 'enum' in o and 'type' not in o and all(isinstance(x,str) for x in o['enum']): o['type']='string'
        for v in o.values(): walk(v)
    elif isinstance(o,list):
        for v in o: walk(v)
walk(spec)
yaml.safe_dump(spec,open(sys.argv[2],'w'),sort_keys=False)
